//! `lockcheck graph`: the class dependency graph of traces and kernel logs, as DOT or SVG.
//!
//! Traces are replayed together into one validator (so cycles across runs show); kernel logs
//! contribute the chains of their reports. Exit status: 0 drawn, 2 an input error (the graph of
//! the readable inputs is still drawn).

use std::io::{self, Write};

use lockdep::replay::{ClassRefinement, Replayer};

use crate::graph::{self, GraphFormat, GraphModel, GraphOptions, KernelGraph};
use crate::input::describe;
use crate::progress::Progress;
use crate::replay::trace::replay_trace_labelled;
use crate::ui::Ui;

/// Options of `lockcheck graph`, independent of clap.
#[derive(Debug, Clone)]
pub struct GraphCmdOptions {
    /// Files to read; `-` is standard input.
    pub inputs: Vec<String>,
    /// The names given on the command line: an input that is none of them was found in a
    /// directory, and is skipped with a note (not an error) when it is JSON of another kind,
    /// as `check` does.
    pub named: Vec<String>,
    /// DOT or SVG.
    pub format: GraphFormat,
    /// Drawing options (`all`, size cap, title).
    pub graph: GraphOptions,
}

/// Runs `lockcheck graph` with no progress bar; returns the exit status.
pub fn run(opts: &GraphCmdOptions, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    run_with(opts, &Ui::default(), out, err)
}

/// Runs `lockcheck graph` with the progress bar of `ui`; returns the exit status.
pub fn run_with(opts: &GraphCmdOptions, ui: &Ui, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let progress = Progress::over_bytes(ui.progress, &opts.inputs);
    let mut err = progress.err(err);
    let err: &mut dyn Write = &mut err;
    let mut errors = 0usize;
    let mut replayer = Replayer::new(lockdep::Config::from_env(), ClassRefinement::default());
    let mut trace_reports = Vec::new();
    let mut trace_names = Vec::new();
    let mut kernel: Option<KernelGraph> = None;
    let multiple = opts.inputs.len() > 1;
    let labels = crate::replay::trace::labels(&opts.inputs);
    for (index, input) in opts.inputs.iter().enumerate() {
        let mut reader = match crate::input::open_with(input, &progress) {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(err, "lockcheck: {input}: {}", describe(&e));
                errors += 1;
                continue;
            }
        };
        let is_trace = match crate::replay::is_trace(input, &mut reader) {
            Ok(t) => t,
            Err(e) => {
                let _ = writeln!(err, "lockcheck: {input}: {}", describe(&e));
                errors += 1;
                continue;
            }
        };
        let kind = if is_trace {
            crate::check::sniff_reader(&mut reader)
        } else {
            Ok(crate::check::JsonKind::Trace)
        };
        match kind {
            Ok(crate::check::JsonKind::Graph) => {
                // Drawn as `check` merges it, beside the traces.
                match crate::check::feed_graph_file(&mut replayer, input, reader, err) {
                    Ok((reports, e)) => {
                        trace_reports.extend(reports);
                        errors += e;
                    }
                    Err(e) => {
                        let _ = writeln!(err, "lockcheck: {input}: {}", describe(&e));
                        errors += 1;
                    }
                }
                trace_names.push(input.clone());
                continue;
            }
            Ok(crate::check::JsonKind::Trace) => {}
            Ok(other) => {
                let why = crate::check::not_a_trace(&other).unwrap_or_default();
                if opts.named.iter().any(|n| n == input) {
                    let _ = writeln!(err, "lockcheck: {input}: {why}");
                    errors += 1;
                } else {
                    let _ = writeln!(err, "lockcheck: {input}: skipped: {why}");
                }
                continue;
            }
            Err(e) => {
                let _ = writeln!(err, "lockcheck: {input}: {}", describe(&e));
                errors += 1;
                continue;
            }
        }
        if is_trace {
            let prefix = if multiple {
                format!("{}:", index + 1)
            } else {
                String::new()
            };
            let mut emit = |r: crate::replay::ReplayedReport| {
                trace_reports.push(r.report);
                Ok(())
            };
            let label = multiple.then_some(labels[index].as_str());
            match replay_trace_labelled(
                input,
                reader,
                &prefix,
                label,
                None,
                &mut replayer,
                err,
                &mut emit,
            ) {
                Ok(stats) => {
                    errors += stats.errors as usize;
                    if stats.events == 0 && stats.errors == 0 {
                        // As `replay` and `check` say it: drawn as nothing, not an error.
                        let _ = writeln!(err, "lockcheck: {input}: no events");
                    }
                    for line in stats.limit_lines(input) {
                        let _ = writeln!(err, "{line}");
                    }
                }
                Err(e) => {
                    let _ = writeln!(err, "lockcheck: {input}: {}", describe(&e));
                    errors += 1;
                }
            }
            trace_names.push(input.clone());
        } else {
            // Reports are added as they are parsed: nothing is held per report but the graph.
            let graph = kernel.get_or_insert_with(KernelGraph::default);
            graph.add_source(input);
            let result = crate::splat::parse_reader(input, reader, |r| {
                graph.add(&r);
                Ok(())
            });
            if let Err(e) = result {
                let _ = writeln!(err, "lockcheck: {input}: {}", describe(&e));
                errors += 1;
            }
        }
    }
    progress.finish();
    let mut model = if trace_names.is_empty() {
        None
    } else {
        Some(
            GraphModel::from_replay(replayer.validator(), &trace_reports)
                .with_source(trace_names.join(", ")),
        )
    };
    if let Some(k) = kernel {
        let k = k.finish();
        model = Some(match model {
            Some(m) => m.merge(&k),
            None => k,
        });
    }
    let Some(model) = model else {
        // No input could be read: nothing to draw (an empty picture would look like a clean
        // run).
        return if errors > 0 {
            2
        } else {
            write_graph(&GraphModel::from_kernel_reports(&[]), opts, out, err)
        };
    };
    let written = write_graph(&model, opts, out, err);
    if errors > 0 || written == 2 {
        2
    } else if !model.cycles.is_empty() {
        // A drawn cycle is a finding, as a report is for the other subcommands.
        1
    } else {
        0
    }
}

/// Renders and writes the graph: 0, or 2 when the output could not be written.
fn write_graph(
    model: &GraphModel,
    opts: &GraphCmdOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let text = graph::render(model, opts.format, &opts.graph);
    // What the picture leaves out is said in it and here, where a script sees it.
    let sel = graph::Selection::of(model, &opts.graph);
    if sel.model.nodes.len() < model.nodes.len() || sel.model.edges.len() < model.edges.len() {
        for note in &sel.notes {
            let _ = writeln!(err, "lockcheck: graph: {note}");
        }
    }
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            let _ = writeln!(err, "lockcheck: writing output: {e}");
            2
        }
        Ok(()) => 0,
    }
}
