//! `--summary`: reports grouped by title with counts (the syzbot dashboard view).

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::{Format, Printer};
use crate::report::Report;
use crate::style::Palette;

#[derive(Default, Serialize)]
struct Group {
    title: String,
    count: usize,
    kind: String,
    verdicts: BTreeMap<String, usize>,
    rules: BTreeMap<String, usize>,
    truncated: usize,
    occurrences: Vec<String>,
}

/// Accumulates reports and prints one line (or JSON object) per title at the end.
pub struct SummaryPrinter {
    format: Format,
    groups: BTreeMap<String, Group>,
    palette: Palette,
}

impl SummaryPrinter {
    /// A summary printing in `format` (text or json; the command refuses `--summary --format
    /// dot`, and a library caller asking for it gets text).
    pub fn new(format: Format) -> SummaryPrinter {
        SummaryPrinter {
            format,
            groups: BTreeMap::new(),
            palette: Palette::PLAIN,
        }
    }

    /// The same, coloured with `palette` (text only).
    pub fn with_palette(mut self, palette: Palette) -> SummaryPrinter {
        self.palette = palette;
        self
    }
}

impl Printer for SummaryPrinter {
    fn report(&mut self, _out: &mut dyn Write, r: &Report) -> io::Result<()> {
        let g = self.groups.entry(r.title.clone()).or_default();
        g.title = r.title.clone();
        g.kind = r.kind.as_str().to_string();
        g.count += 1;
        *g.verdicts
            .entry(r.verdict.label.as_str().to_string())
            .or_default() += 1;
        *g.rules.entry(r.verdict.rule.clone()).or_default() += 1;
        g.truncated += usize::from(r.truncated);
        g.occurrences.push(format!("{}:{}", r.source, r.line));
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let mut groups: Vec<&Group> = self.groups.values().collect();
        groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.title.cmp(&b.title)));
        if self.format == Format::Json {
            for g in groups {
                super::json::write_line(out, super::json::SCHEMA_PARSE_SUMMARY, g)?;
            }
            return Ok(());
        }
        let total: usize = groups.iter().map(|g| g.count).sum();
        writeln!(out, "{total} report(s), {} distinct title(s)", groups.len())?;
        let p = self.palette;
        for g in groups {
            let verdicts: Vec<String> = g
                .verdicts
                .iter()
                .map(|(k, v)| format!("{} {v}", p.paint(p.verdict_str(k), k)))
                .collect();
            writeln!(out, "{:>5}  {}", g.count, p.paint(p.title(), &g.title))?;
            writeln!(
                out,
                "       kind {}; {}",
                p.paint(p.kind(), &g.kind),
                verdicts.join(", ")
            )?;
            let shown: Vec<&str> = g.occurrences.iter().take(5).map(String::as_str).collect();
            writeln!(
                out,
                "       {}{}",
                shown.join(" "),
                if g.occurrences.len() > 5 {
                    format!(" (+{} more)", g.occurrences.len() - 5)
                } else {
                    String::new()
                }
            )?;
        }
        Ok(())
    }
}
