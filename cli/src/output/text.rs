//! Human-readable text: a short summary per report, everything with `--verbose`.

use std::io::{self, Write};

use super::Printer;
use crate::report::{Frame, Kind, LockRef, Report};
use crate::style::Palette;

/// Prints reports as text.
pub struct TextPrinter {
    /// Print every extracted section.
    pub verbose: bool,
    /// Colours (kinds, verdicts, the cycle, line references).
    pub palette: Palette,
}

/// Words of `text` in lines of at most `width`, the first after `indent`, the others
/// aligned under it (`note: ` labels are not repeated).
fn wrap(out: &mut dyn Write, indent: &str, text: &str, width: usize) -> io::Result<()> {
    let lead = indent.len() - indent.trim_start().len();
    let hang = format!(
        "{}{}",
        &indent[..lead],
        if indent.trim().is_empty() { "" } else { "  " }
    );
    let mut first = true;
    let mut line = String::new();
    let emit = |out: &mut dyn Write, line: &str, first: &mut bool| {
        let r = writeln!(out, "{}{line}", if *first { indent } else { &hang });
        *first = false;
        r
    };
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            emit(out, &line, &mut first)?;
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        emit(out, &line, &mut first)?;
    }
    Ok(())
}

/// The few frames that say where an edge came from: the first frames that are not lock
/// primitives or lockdep itself.
pub fn edge_path(frames: &[Frame], n: usize) -> String {
    let v: Vec<String> = frames
        .iter()
        .filter(|f| !f.unreliable)
        .filter(|f| !crate::classify::is_primitive(f))
        .take(n)
        .map(|f| {
            f.base_function()
                .map(crate::title::demangle)
                .unwrap_or_else(|| f.display())
        })
        .collect();
    v.join(" <- ")
}

fn lock_desc(p: Palette, l: &LockRef) -> String {
    let mut s = String::new();
    if let Some(a) = &l.address {
        s.push_str(a);
        s.push(' ');
    }
    s.push_str(&format!("({})", p.paint(p.class(), &l.name)));
    if let Some(u) = &l.usage {
        s.push_str(&format!("{{{u}}}"));
    }
    if let Some(w) = l.wait {
        s.push_str(&format!("-{{{}:{}}}", w.outer, w.inner));
    }
    if let Some(at) = &l.at {
        s.push_str(&format!(" at {}", at.display()));
    }
    if l.name_cut {
        s.push_str(" (its line was cut in or right after the name)");
    }
    s.push_str(&format!(
        "  {}",
        p.paint(p.dim(), format_args!("[line {}]", l.input_line))
    ));
    s
}

fn frames(out: &mut dyn Write, p: Palette, indent: &str, frames: &[Frame]) -> io::Result<()> {
    for f in frames {
        writeln!(
            out,
            "{indent}{}{}  {}",
            if f.unreliable { "? " } else { "" },
            f.display(),
            p.paint(p.dim(), format_args!("[line {}]", f.input_line))
        )?;
    }
    Ok(())
}

impl TextPrinter {
    fn summary(&self, out: &mut dyn Write, r: &Report) -> io::Result<()> {
        let p = self.palette;
        writeln!(
            out,
            "{}: {}: {}",
            p.paint(p.location(), format_args!("{}:{}", r.source, r.line)),
            p.paint(p.kind(), r.kind),
            p.paint(p.title(), &r.title)
        )?;
        let mut who = Vec::new();
        if let Some(t) = &r.task {
            who.push(format!("task {}/{}", t.comm, t.pid));
        }
        if let Some(c) = r.cpu {
            who.push(format!("CPU {c}"));
        }
        if let Some(k) = &r.kernel {
            who.push(format!(
                "kernel {}{}",
                k.release,
                k.version
                    .as_ref()
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default()
            ));
            if let Some(t) = &k.taint {
                who.push(t.clone());
            }
        }
        if !who.is_empty() {
            writeln!(out, "  {}", who.join(", "))?;
        }
        if r.truncated || r.damage.is_some() {
            writeln!(
                out,
                "  {}{}",
                p.paint(p.warn(), if r.truncated { "truncated" } else { "damaged" }),
                r.damage
                    .as_ref()
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default()
            )?;
        }
        if let Some(c) = &r.corrupted {
            writeln!(
                out,
                "  {}: {c}",
                p.paint(p.warn(), "corrupted (as syzkaller judges it)")
            )?;
        }
        match r.kind {
            Kind::CircularDependency if !r.cycle.is_empty() || !r.locks.is_empty() => {
                let names: Vec<String> = r
                    .cycle_names()
                    .iter()
                    .map(|n| p.paint(p.class(), n).to_string())
                    .collect();
                writeln!(
                    out,
                    "  {} {}",
                    p.paint(p.heading(), "cycle:"),
                    names.join(" -> ")
                )?;
                let mut edges = r.cycle.clone();
                edges.sort_by_key(|e| std::cmp::Reverse(e.closing));
                for e in &edges {
                    let path = r
                        .chain_entry(e.chain_entry)
                        .map(|c| edge_path(&c.frames, 4))
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "    {} -> {}  {} (#{}, line {}): {}",
                        p.paint(p.class(), &e.from),
                        p.paint(p.class(), &e.to),
                        if e.closing {
                            p.paint(p.closing(), "new edge")
                        } else {
                            p.paint(anstyle::Style::new(), "recorded")
                        },
                        e.chain_entry,
                        e.input_line,
                        path
                    )?;
                }
            }
            _ => {
                if !r.locks.is_empty() {
                    let names: Vec<String> = r
                        .locks
                        .iter()
                        .map(|n| p.paint(p.class(), n).to_string())
                        .collect();
                    writeln!(out, "  locks: {}", names.join(", "))?;
                }
                if let Some(a) = &r.acquiring {
                    // A bad unlock is about the lock being released, not acquired.
                    let verb = if r.kind == Kind::BadUnlockBalance {
                        "releasing"
                    } else {
                        "acquiring"
                    };
                    writeln!(out, "    {verb} {}", lock_desc(p, a))?;
                }
                if let Some(h) = &r.held {
                    writeln!(out, "    holding   {}", lock_desc(p, h))?;
                }
                if let Some(irq) = &r.irq {
                    if let (Some(f), Some(t)) = (&irq.usage_from, &irq.usage_to) {
                        writeln!(out, "    usage {{{f}}} -> {{{t}}}")?;
                    }
                    if let Some(s) = &irq.safe_lock {
                        writeln!(
                            out,
                            "    {}-safe   {}",
                            irq.state.clone().unwrap_or_default(),
                            lock_desc(p, s)
                        )?;
                    }
                    if let Some(u) = &irq.unsafe_lock {
                        writeln!(
                            out,
                            "    {}-unsafe {}",
                            irq.state.clone().unwrap_or_default(),
                            lock_desc(p, u)
                        )?;
                    }
                }
                if let Some(m) = &r.message {
                    writeln!(out, "    {m}")?;
                }
            }
        }
        writeln!(
            out,
            "  {} {} [{}]",
            p.paint(p.heading(), "verdict:"),
            p.paint(p.verdict(r.verdict.label), r.verdict.label.as_str()),
            r.verdict.rule
        )?;
        wrap(out, "    ", &r.verdict.explanation, 96)?;
        if !r.verdict.check_next.is_empty() {
            wrap(out, "    check next: ", &r.verdict.check_next, 84)?;
        }
        for n in &r.verdict.notes {
            wrap(out, "    note: ", n, 90)?;
        }
        Ok(())
    }

    fn details(&self, out: &mut dyn Write, r: &Report) -> io::Result<()> {
        let p = self.palette;
        if !r.verdict.evidence.is_empty() {
            writeln!(out, "  {}", p.paint(p.heading(), "evidence:"))?;
            for e in &r.verdict.evidence {
                writeln!(
                    out,
                    "    {}: {}",
                    p.paint(p.heading(), format_args!("line {}", e.line)),
                    e.note
                )?;
            }
        }
        writeln!(
            out,
            "  banner: {}  [lines {}-{}]",
            r.banner, r.line, r.end_line
        )?;
        if let Some(k) = &r.kernel {
            writeln!(out, "  kernel: {}", k.raw)?;
        }
        if let Some(c) = &r.irq_context {
            writeln!(
                out,
                "  irq context: HC{}[{}]:SC{}[{}]:HE{}:SE{}",
                c.hardirq,
                c.hardirq_count,
                c.softirq,
                c.softirq_count,
                u8::from(c.hardirqs_enabled),
                u8::from(c.softirqs_enabled)
            )?;
        }
        if r.kind == Kind::CircularDependency {
            if let Some(a) = &r.acquiring {
                writeln!(out, "  acquiring: {}", lock_desc(p, a))?;
            }
            if let Some(h) = &r.held {
                writeln!(out, "  holding:   {}", lock_desc(p, h))?;
            }
        }
        for l in [&r.acquiring, &r.held].into_iter().flatten() {
            if !l.at_inlined.is_empty() {
                writeln!(out, "  sites of {}:", l.name)?;
                frames(out, p, "      ", &l.at_inlined)?;
            }
        }
        if !r.chain.is_empty() {
            writeln!(out, "  dependency chain (in reverse order):")?;
            for e in &r.chain {
                writeln!(out, "    -> #{} {}", e.depth, lock_desc(p, &e.lock))?;
                frames(out, p, "         ", &e.frames)?;
            }
        }
        if !r.chain_exists_of.is_empty() {
            writeln!(
                out,
                "  chain exists of: {}",
                r.chain_exists_of.join(" --> ")
            )?;
        }
        if !r.scenario.is_empty() {
            writeln!(out, "  scenario:")?;
            for s in &r.scenario {
                let what = match &s.lock {
                    Some(l) => format!("{}({l})", s.action),
                    None => s.action.clone(),
                };
                writeln!(out, "    CPU{}: {what}", s.cpu)?;
            }
        }
        if let Some(irq) = &r.irq {
            if let Some(s) = irq.event_stamp {
                writeln!(out, "  irq event stamp: {s}")?;
            }
            for e in &irq.events {
                writeln!(
                    out,
                    "    {} at ({}): {}",
                    e.event,
                    e.stamp,
                    e.at.as_ref().map(|f| f.display()).unwrap_or_default()
                )?;
            }
            if !irq.new_dependency.is_empty() {
                let v: Vec<&str> = irq.new_dependency.iter().map(|l| l.name.as_str()).collect();
                writeln!(out, "  new dependency: {}", v.join(" -> "))?;
            }
            for t in &irq.traces {
                writeln!(
                    out,
                    "  {}{} at:  [line {}]",
                    t.lock
                        .as_ref()
                        .map(|l| format!("({l}) "))
                        .unwrap_or_default(),
                    t.state,
                    t.input_line
                )?;
                frames(out, p, "      ", &t.frames)?;
            }
        }
        if let Some(w) = r.wait_context {
            writeln!(out, "  context-{{{}:{}}}", w.outer, w.inner)?;
        }
        if let Some(n) = &r.not_holding {
            writeln!(out, "  not holding: {n}")?;
        }
        if let Some((a, b)) = &r.freed_range {
            writeln!(out, "  freed memory: {a}-{b}")?;
        }
        if let Some(h) = &r.held_locks {
            writeln!(
                out,
                "  {} lock{} held{}:",
                h.count,
                if h.count == 1 { "" } else { "s" },
                h.task
                    .as_ref()
                    .map(|t| format!(" by {}/{}", t.comm, t.pid))
                    .unwrap_or_default()
            )?;
            for e in &h.entries {
                writeln!(out, "    #{}: {}", e.index, lock_desc(p, &e.lock))?;
            }
        }
        if let Some(f) = &r.rip {
            writeln!(out, "  at: {}  [line {}]", f.display(), f.input_line)?;
        }
        if !r.backtrace.is_empty() {
            writeln!(out, "  stack backtrace:")?;
            frames(out, p, "      ", &r.backtrace)?;
        }
        Ok(())
    }
}

impl Printer for TextPrinter {
    fn report(&mut self, out: &mut dyn Write, r: &Report) -> io::Result<()> {
        self.summary(out, r)?;
        if self.verbose {
            self.details(out, r)?;
        }
        writeln!(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(name: &str) -> Frame {
        Frame {
            function: Some(name.to_string()),
            ..Frame::default()
        }
    }

    #[test]
    fn edge_path_demangles_rust_and_cpp_frames() {
        // A Rust-for-Linux module's v0 symbol (syzkaller's report 747) and a C++ one; titles
        // demangle them the same way.
        let frames = [
            frame(
                "_RNvXCsktjF9JQNZ8U_5rnullNtB2_13NullBlkModuleNtCs43vyB533jt3_6kernel13InPlaceModule4init",
            ),
            frame("_Z8fakeNameiii"),
            frame("nbd_start_device"),
        ];
        assert_eq!(
            edge_path(&frames, 3),
            "<rnull::NullBlkModule as kernel::InPlaceModule>::init <- fakeName <- nbd_start_device"
        );
    }
}
