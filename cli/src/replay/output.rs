//! Printing replayed reports: the library's own kernel-layout text, or JSON Lines with the same
//! stable fields as `lockcheck parse`.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::output::json::{SCHEMA_REPLAY_REPORT, with_header};
use crate::style::Palette;

/// A report produced by replay, with where in the input it was triggered.
#[derive(Debug, Clone)]
pub struct ReplayedReport {
    /// Input name.
    pub source: String,
    /// 1-based line of the event that triggered it.
    pub line: usize,
    /// The validator's report.
    pub report: lockdep::Report,
    /// `likely_genuine` for traces; splat replays say what the split showed.
    pub label: &'static str,
    /// The rule id behind the label.
    pub rule: &'static str,
    /// Plain-English explanation.
    pub explanation: String,
}

impl ReplayedReport {
    /// A report from replaying a trace: the program really took these locks in these orders.
    pub fn from_trace(source: &str, line: usize, report: lockdep::Report) -> Self {
        let explanation = match report.kind() {
            lockdep::ReportKind::CircularDependency => format!(
                "the trace takes these classes in an order that closes the cycle {}; replayed through the validator, the cycle is strong (a deadlock is possible when the threads interleave)",
                cycle_text(&report)
            ),
            lockdep::ReportKind::LimitExceeded => match &report.limit {
                Some(l) => limit_explanation(l.name, l.value, l.env_var),
                None => "a validator limit was reached".to_string(),
            },
            _ => format!("the trace shows it directly: {}", report.title()),
        };
        let (label, rule) = if report.kind() == lockdep::ReportKind::LimitExceeded {
            ("undetermined", "replay-limit")
        } else {
            ("likely_genuine", "replay")
        };
        ReplayedReport {
            source: source.to_string(),
            line,
            report,
            label,
            rule,
            explanation,
        }
    }

    /// The title, in the same spirit as `lockcheck parse` titles.
    pub fn title(&self) -> String {
        match &self.report.limit {
            // The library's title says validation stopped; a replay goes on.
            Some(l) if self.report.kind() == lockdep::ReportKind::LimitExceeded => {
                format!("{} ({}) reached, replay goes on past it", l.name, l.value)
            }
            _ => self.report.title(),
        }
    }

    /// The JSON object (one line of `--format json`), with its `schema` and `version`.
    pub fn to_json(&self) -> Value {
        with_header(SCHEMA_REPLAY_REPORT, self.body_json())
    }

    fn body_json(&self) -> Value {
        let r = &self.report;
        let lock = |l: &lockdep::LockRef| {
            json!({
                "class": &*l.name,
                "instance": format!("{:#x}", l.instance.0),
                "mode": l.mode.as_str(),
                "trylock": l.trylock,
                "kind": l.kind.as_str(),
                "at": l.site.to_string(),
            })
        };
        json!({
            "source": self.source,
            "line": self.line,
            "kind": r.kind().as_str(),
            "title": self.title(),
            "locks": r.classes(),
            "verdict": {
                "label": self.label,
                "rule": self.rule,
                "explanation": self.explanation,
            },
            "truncated": false,
            "thread": { "name": &*r.thread.name, "id": r.thread.id },
            "cycle": r.cycle(),
            "acquiring": r.acquiring.as_ref().map(lock),
            "held_lock": r.held_lock.as_ref().map(lock),
            "chain": r.chain.iter().map(|c| json!({
                "from": &*c.from,
                "to": &*c.to,
                "types": c.types.labels(),
                "first_seen": {
                    "thread": &*c.first_seen.thread,
                    "from_site": c.first_seen.from_site.to_string(),
                    "to_site": c.first_seen.to_site.to_string(),
                },
            })).collect::<Vec<_>>(),
            "held": r.held.iter().map(lock).collect::<Vec<_>>(),
            "text": format!("{r:#}"),
        })
    }
}

/// What a replay does past limit `name` (`MAX_LOCK_DEPTH`, ...), and the knob that raises it.
pub fn limit_explanation(name: &str, value: usize, env_var: &str) -> String {
    let what = match name {
        "MAX_LOCK_DEPTH" => {
            "acquisitions deeper than that are skipped (not validated; their releases are matched silently)"
        }
        "MAX_LOCKDEP_KEYS" => {
            "acquisitions of further classes are skipped (not validated; their releases are matched silently)"
        }
        "MAX_LOCKDEP_ENTRIES" => {
            "further dependencies are not recorded, so cycles through them cannot be found"
        }
        "MAX_LOCKDEP_CHAINS" => {
            "further chains are validated but not remembered (slower, not less checked)"
        }
        _ => "some events are not validated",
    };
    format!(
        "{name} ({value}) reached: {what}; the rest of the trace is still validated; set {env_var}=<larger> to raise it"
    )
}

/// `A -> B -> A`.
pub fn cycle_text(r: &lockdep::Report) -> String {
    let c = r.cycle();
    match c.first() {
        Some(first) => format!("{} -> {first}", c.join(" -> ")),
        None => r.classes().join(", "),
    }
}

/// Writes one report in `format` (`json` or text, coloured with `p`).
pub fn write_report(
    out: &mut dyn Write,
    r: &ReplayedReport,
    json: bool,
    p: Palette,
) -> io::Result<()> {
    if json {
        writeln!(out, "{}", r.to_json())
    } else {
        writeln!(
            out,
            "{}: {}: {}",
            p.paint(p.location(), format_args!("{}:{}", r.source, r.line)),
            p.paint(p.kind(), r.report.kind()),
            p.paint(p.title(), r.title())
        )?;
        writeln!(
            out,
            "  {} {} ({}): {}",
            p.paint(p.heading(), "verdict:"),
            p.paint(p.verdict_str(r.label), r.label),
            r.rule,
            r.explanation
        )?;
        if r.report.kind() != lockdep::ReportKind::LimitExceeded {
            // (The library's limit text says validation stops; a replay goes on.)
            for line in format!("{:#}", r.report).lines() {
                writeln!(out, "  {line}")?;
            }
        } else {
            for l in &r.report.held {
                writeln!(
                    out,
                    "  held by {}: {} at {}",
                    r.report.thread.name, l.name, l.site
                )?;
            }
        }
        writeln!(out)
    }
}
