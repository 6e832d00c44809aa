//! Printing `lockcheck check` reports: the library's kernel-layout text followed by where each
//! dependency of the cycle came from, or JSON Lines with the same fields as `lockcheck replay`
//! plus `edges` and `processes`.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::output::json::{SCHEMA_CHECK_REPORT, with_header};
use crate::style::Palette;

/// Where one dependency of a cycle was first seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeOrigin {
    /// The held class.
    pub from: String,
    /// The class acquired while holding it.
    pub to: String,
    /// Its types (`EN|SR`).
    pub types: String,
    /// The graph file or trace it came from.
    pub file: String,
    /// Its line in that file (0: not known, for dependencies of traces).
    pub line: usize,
    /// The process id (graph files).
    pub pid: Option<u32>,
    /// The executable (graph files).
    pub exe: Option<String>,
    /// The test, when the writer knew it.
    pub test: Option<String>,
    /// The thread that took the two locks.
    pub thread: String,
    /// Where the held lock was acquired.
    pub from_at: String,
    /// Where the later lock was acquired.
    pub to_at: String,
}

impl EdgeOrigin {
    /// `test `a::b`, thread 'a::b', process 12 (suite-1f2e), file dir/x.jsonl:7`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = &self.test {
            parts.push(format!("test `{t}`"));
        }
        parts.push(format!("thread '{}'", self.thread));
        match (self.pid, &self.exe) {
            (Some(p), Some(e)) if !e.is_empty() => parts.push(format!("process {p} ({e})")),
            (Some(p), _) => parts.push(format!("process {p}")),
            _ => {}
        }
        if !self.file.is_empty() {
            if self.line > 0 {
                parts.push(format!("file {}:{}", self.file, self.line));
            } else {
                parts.push(format!("file {}", self.file));
            }
        }
        parts.join(", ")
    }

    fn to_json(&self) -> Value {
        json!({
            "from": self.from,
            "to": self.to,
            "types": self.types,
            "file": self.file,
            "line": self.line,
            "pid": self.pid,
            "exe": self.exe,
            "test": self.test,
            "thread": self.thread,
            "from_at": self.from_at,
            "to_at": self.to_at,
        })
    }
}

/// One report of the merged graph.
#[derive(Debug, Clone)]
pub struct CheckedReport {
    /// The file whose dependency triggered it.
    pub source: String,
    /// Its line there.
    pub line: usize,
    /// The validator's report.
    pub report: lockdep::Report,
    /// Each dependency of the cycle, in cycle order (the chain, then the closing dependency).
    pub edges: Vec<EdgeOrigin>,
}

impl CheckedReport {
    /// How many files (processes) the cycle's dependencies come from.
    pub fn processes(&self) -> usize {
        let mut files: Vec<&str> = self
            .edges
            .iter()
            .map(|e| e.file.as_str())
            .filter(|f| !f.is_empty())
            .collect();
        files.sort_unstable();
        files.dedup();
        files.len()
    }

    /// The tests named by the cycle's dependencies, each once, in cycle order.
    pub fn tests(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for e in &self.edges {
            if let Some(t) = e.test.as_deref()
                && !out.contains(&t)
            {
                out.push(t);
            }
        }
        out
    }

    /// The JSON object (one line of `--format json`), with its `schema` and `version`.
    pub fn to_json(&self) -> Value {
        let r = &self.report;
        with_header(
            SCHEMA_CHECK_REPORT,
            json!({
                "source": self.source,
                "line": self.line,
                "kind": r.kind().as_str(),
                "title": r.title(),
                "locks": r.classes(),
                "cycle": r.cycle(),
                "processes": self.processes(),
                "tests": self.tests(),
                "thread": { "name": &*r.thread.name, "id": r.thread.id },
                "edges": self.edges.iter().map(EdgeOrigin::to_json).collect::<Vec<_>>(),
                "limit": r.limit.as_ref().map(|l| json!({
                    "name": l.name, "value": l.value, "env_var": l.env_var,
                })),
                "text": format!("{r:#}"),
            }),
        )
    }
}

/// Writes one report as text (coloured with `p`) or one JSON line.
pub fn write(out: &mut dyn Write, r: &CheckedReport, json: bool, p: Palette) -> io::Result<()> {
    if json {
        return writeln!(out, "{}", r.to_json());
    }
    let kind = r.report.kind();
    let title = match &r.report.limit {
        Some(l) if kind == lockdep::ReportKind::LimitExceeded => {
            format!(
                "{} ({}) reached, the check goes on past it",
                l.name, l.value
            )
        }
        _ => r.report.title(),
    };
    writeln!(
        out,
        "{}: {}: {}",
        p.paint(p.location(), format_args!("{}:{}", r.source, r.line)),
        p.paint(p.kind(), kind),
        p.paint(p.title(), title)
    )?;
    if kind == lockdep::ReportKind::LimitExceeded {
        if let Some(l) = &r.report.limit {
            writeln!(
                out,
                "  {}",
                crate::replay::output::limit_explanation(l.name, l.value, l.env_var)
            )?;
        }
        return writeln!(out);
    }
    let n = r.processes();
    if n > 1 {
        writeln!(out, "  the cycle spans {n} processes")?;
    }
    for line in format!("{:#}", r.report).lines() {
        writeln!(out, "  {line}")?;
    }
    if !r.edges.is_empty() {
        writeln!(out, "  where each dependency of the cycle was first seen:")?;
        for e in &r.edges {
            writeln!(
                out,
                "    {} -> {} ({}): {}",
                p.paint(p.class(), &e.from),
                p.paint(p.class(), &e.to),
                e.types,
                e.describe()
            )?;
        }
    }
    writeln!(out)
}
