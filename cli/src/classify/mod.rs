//! Classification: a verdict per report, decided by the first matching rule of a
//! data-driven table ([`RULES`]), each documented in `docs/classification.md`.
//!
//! ```
//! use lockcheck::{classify, splat};
//! let log = "WARNING: possible recursive locking detected\n\
//!            6.6.0 #1 Not tainted\n\
//!            --------------------------------------------\n\
//!            kworker/1:1/32 is trying to acquire lock:\n\
//!            ffff888005ac8400 (&ei->lock){+.+.}-{3:3}, at: foo+0x1/0x2\n\
//!            \n\
//!            but task is already holding lock:\n\
//!            ffff888005ac8800 (&ei->lock){+.+.}-{3:3}, at: bar+0x1/0x2\n";
//! let reports = splat::parse_str("log", log);
//! assert_eq!(reports[0].verdict.rule, "same-class-two-instances");
//! assert_eq!(reports[0].verdict.label.as_str(), "likely_false_positive");
//! # let _ = classify::RULES;
//! ```

pub(crate) mod rules;

use crate::report::{KernelIdent, Kind, Label, Report, Verdict};

pub use rules::{
    FrameRole, GENERIC_CLASS_PATTERNS, KNOWN_SEQCOUNT_SITES, READER_FRAMES, SHARED_CLASS_PATTERNS,
    is_generic_class, is_primitive,
};

/// What earlier reports of the same input tell the classifier.
#[derive(Debug, Default, Clone)]
pub struct Context {
    /// Every earlier report in this input.
    pub earlier: Vec<Earlier>,
    /// The lines where a mail starts (`From:`, `Message-ID:`), ascending: a thread or an mbox
    /// holds several posters' logs, so reports of two mails are not one boot's.
    pub mail_starts: Vec<usize>,
}

/// An earlier report of the same input, as the classifier needs it.
#[derive(Debug, Clone)]
pub struct Earlier {
    /// Its first line.
    pub line: usize,
    /// Its kind.
    pub kind: Kind,
    /// The kernel it names, if it names one.
    pub kernel: Option<KernelIdent>,
}

impl Earlier {
    /// What the classifier keeps of `r`.
    pub fn of(r: &Report) -> Earlier {
        Earlier {
            line: r.line,
            kind: r.kind,
            kernel: r.kernel.clone(),
        }
    }
}

impl Context {
    /// The earlier reports that may come from the boot `r` comes from: not those that name
    /// another kernel (another release or build) than `r` does, nor those of another mail. A
    /// log or a mail thread can hold several boots; lockdep's state (off after a first report)
    /// is one boot's.
    pub fn same_boot<'a>(&'a self, r: &'a Report) -> impl Iterator<Item = &'a Earlier> {
        // The earlier reports after the last mail start before `r`.
        let mail = self
            .mail_starts
            .partition_point(|&l| l <= r.line)
            .checked_sub(1)
            .map_or(0, |i| self.mail_starts[i]);
        self.earlier
            .iter()
            .filter(move |e| e.line > mail)
            .filter(move |e| match (&e.kernel, &r.kernel) {
                (Some(a), Some(b)) => a.may_be_same_boot(b),
                _ => true,
            })
    }
}

/// What a rule found.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The verdict label.
    pub label: Label,
    /// Plain-English explanation.
    pub explanation: String,
    /// (input line, note) pairs.
    pub evidence: Vec<(usize, String)>,
}

/// One classification rule.
pub struct Rule {
    /// Stable id (section anchor in docs/classification.md).
    pub id: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// What a maintainer should check next when this rule decides.
    pub check_next: &'static str,
    /// Kinds the rule looks at.
    pub kinds: &'static [Kind],
    /// The check.
    pub check: fn(&Report, &Context) -> Option<Finding>,
}

pub use rules::RULES;

/// Classify `report`, setting `report.verdict`.
pub fn classify(report: &mut Report, ctx: &Context) {
    let mut verdict = Verdict::default();
    for rule in RULES {
        if !rule.kinds.contains(&report.kind) {
            continue;
        }
        if let Some(f) = (rule.check)(report, ctx) {
            verdict = Verdict {
                label: f.label,
                rule: rule.id.to_string(),
                explanation: f.explanation,
                evidence: f
                    .evidence
                    .into_iter()
                    .filter(|(l, _)| *l > 0)
                    .map(|(line, note)| crate::report::Evidence { line, note })
                    .collect(),
                notes: Vec::new(),
                basis: String::new(),
                check_next: rule.check_next.to_string(),
            };
            break;
        }
    }
    verdict.notes = rules::notes(report);
    if banner_only(report)
        && let Some(Earlier { line, .. }) = ctx.earlier.iter().rev().find(|e| e.kind == report.kind)
    {
        verdict.notes.push(format!(
            "Only the banner of this report is here (the poster left the rest out): most likely \
             a copy of the report at line {line}."
        ));
    }
    // Reports trimmed in a mail can lack a lock name or a site: say so instead of printing
    // an empty name or site.
    verdict.explanation = verdict
        .explanation
        .replace("(from ``)", "(the caller is not in the report)")
        .replace("``", "(not in the report)")
        .replace(" ()", "");
    verdict.basis = "rule".into();
    verdict.evidence.sort_by_key(|e| e.line);
    report.verdict = verdict;
    if report.kind == Kind::CircularDependency && !report.cycle.is_empty() {
        weigh_replay(report);
    }
}

/// Whether a report is its banner (and version line) and nothing else.
fn banner_only(r: &Report) -> bool {
    r.task.is_none()
        && r.acquiring.is_none()
        && r.held.is_none()
        && r.chain.is_empty()
        && r.held_locks.is_none()
        && r.backtrace.is_empty()
        && r.irq.is_none()
        && r.message.is_none()
}

/// Replays a circular report's chain through the validator and weighs the result with
/// the rule's verdict, so that `parse` and `replay` give one verdict:
/// - a class-conflation verdict stands only if splitting the generic class by code path
///   makes the cycle disappear; otherwise it becomes `undetermined`;
/// - for any other verdict a split that removes the cycle is reported as what to check
///   (it does not by itself show that the paths touch different objects);
/// - replaying the cycle as the kernel saw it proves nothing new and decides nothing.
fn weigh_replay(report: &mut Report) {
    let Some(replay) = crate::replay::splat::replay_report(report) else {
        report
            .verdict
            .notes
            .push("Replay: the dependency chain is too damaged to replay.".into());
        return;
    };
    report.verdict.basis = "rule+replay".into();
    let conflation = report.verdict.rule == "class-conflation";
    let Some(split) = &replay.split else {
        if conflation {
            report.verdict.label = Label::Undetermined;
            report.verdict.explanation.push_str(&format!(
                " Replay through the lockdep validator does not confirm it: {}. Check whether \
                 the two paths can operate on the same object before calling it a false positive.",
                replay.summary()
            ));
        } else {
            report
                .verdict
                .notes
                .push(format!("Replay: {}.", replay.summary()));
        }
        return;
    };
    if conflation {
        report.verdict.explanation.push_str(&format!(
            " Replay through the lockdep validator confirms it: {}.",
            replay.summary()
        ));
    } else {
        report.verdict.notes.push(format!(
            "Replay: {}. If those code paths can never touch the same object, the cycle is a \
             class conflation; if they can, it is real.",
            replay.summary()
        ));
    }
    for a in replay
        .appearances
        .iter()
        .filter(|a| split.split.contains(&a.class))
    {
        let line = a
            .chain_entry
            .and_then(|d| report.chain.iter().find(|e| e.depth == d))
            .map_or(report.line, |e| e.input_line);
        report.verdict.evidence.push(crate::report::Evidence {
            line,
            note: format!("replay split: `{}` {} via `{}`", a.class, a.role, a.path),
        });
    }
    report.verdict.evidence.sort_by_key(|e| e.line);
}
