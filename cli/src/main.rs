//! `lockcheck`: find, explain and replay lock-order problems.
//!
//! Exit status: 0 nothing found, 1 at least one report, 2 an input or usage error.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use lockcheck::output::Format;
use lockcheck::parse::{ParseOptions, run};

#[derive(Parser)]
#[command(
    name = "lockcheck",
    version,
    about = "Find, explain and replay lockdep reports"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Text,
    Json,
    Dot,
}

#[derive(Clone, Copy, ValueEnum)]
enum FailOnArg {
    /// Only likely-genuine reports.
    Genuine,
    /// Likely-genuine and undetermined reports (not likely false positives).
    Undetermined,
    /// Every report.
    Any,
    /// No report (only unreadable inputs fail).
    None,
}

impl From<FailOnArg> for lockcheck::input::FailOn {
    fn from(a: FailOnArg) -> Self {
        use lockcheck::input::FailOn;
        match a {
            FailOnArg::Genuine => FailOn::Genuine,
            FailOnArg::Undetermined => FailOn::Undetermined,
            FailOnArg::Any => FailOn::Any,
            FailOnArg::None => FailOn::None,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ReplayFormatArg {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormatArg {
    Dot,
    Svg,
}

#[derive(Subcommand)]
enum Command {
    /// Find every lockdep report in kernel logs, extract its structure and classify it.
    ///
    /// Reads console logs, dmesg, journal/syslog exports and mails (any console prefix,
    /// quoting or wrapping), plain or compressed with gzip, xz, zstd or bzip2 (recognised by
    /// content, not by name). Each report gets the title syzbot would give it.
    #[command(
        after_help = "Exit status: 0 no report (at the --fail-on level), 1 at least one, \
2 an input could not be read.\n\nExamples:\n  lockcheck parse dmesg.log\n  \
lockcheck parse --fail-on genuine --summary ci-logs/"
    )]
    Parse {
        /// Log files or directories (every file below, recursively) to read; `-`, or
        /// nothing when standard input is not a terminal, reads standard input.
        inputs: Vec<String>,
        /// Output format: text, json (JSON Lines, one object per report) or dot (Graphviz).
        #[arg(long, value_enum, default_value = "text")]
        format: FormatArg,
        /// Group reports by title with counts instead of printing each one.
        #[arg(long)]
        summary: bool,
        /// Print every extracted section (chain stacks, held locks, backtrace, evidence).
        #[arg(short, long)]
        verbose: bool,
        /// Which reports make the exit status 1: `genuine` fails a CI job on likely-genuine
        /// reports only, `undetermined` on everything but likely false positives, `any` on
        /// every report, `none` never (2 still means an unreadable input).
        #[arg(long, value_enum, default_value = "any", value_name = "LEVEL")]
        fail_on: FailOnArg,
    },
    /// Re-run recorded lock traces (or chains reconstructed from kernel splats) through the validator.
    ///
    /// A trace (JSON Lines, docs/trace-format.md) prints the reports the program would have
    /// produced; several traces are merged by class name. A kernel log has each circular
    /// dependency rebuilt as lock events and replayed as the kernel saw it and with
    /// generic-named classes split by code path.
    Replay {
        /// Trace files (JSON Lines) or kernel logs, or directories of them (`-`, or nothing
        /// when standard input is not a terminal, for standard input).
        inputs: Vec<String>,
        /// Output format: text or json (JSON Lines, one object per report).
        #[arg(long, value_enum, default_value = "text")]
        format: ReplayFormatArg,
        /// Treat every instance of class NAME as a class of its own (repeatable).
        #[arg(long = "split-class", value_name = "NAME")]
        split_class: Vec<String>,
        /// Treat class A as class B (repeatable).
        #[arg(long = "merge-class", value_name = "A=B", value_parser = lockcheck::replay::parse_pair)]
        merge_class: Vec<(String, String)>,
        /// Put lock instance INSTANCE in class NAME (repeatable).
        #[arg(long = "class-of", value_name = "INSTANCE=NAME", value_parser = lockcheck::replay::parse_pair)]
        class_of: Vec<(String, String)>,
        /// Also print the events reconstructed from kernel splats.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Merge the dependency graph files and traces of many processes and report their cycles.
    ///
    /// Reads every graph file (LOCKDEP_GRAPH, docs/graph-format.md) and lock trace
    /// (LOCKDEP_TRACE) under the given paths, merges classes by name and re-checks the merged
    /// graph with the validator: a cycle split across tests, test binaries or CI shards is
    /// reported with the process, test and file each dependency came from.
    #[command(
        after_help = "Exit status: 0 no report, 1 at least one, 2 a file could not be read (the other files are still checked).\n\nExamples:\n  LOCKDEP_GRAPH=target/lockdep/ cargo nextest run\n  lockcheck check target/lockdep/"
    )]
    Check {
        /// Graph files, traces, or directories (searched recursively for *.jsonl, *.json and
        /// *.ndjson files).
        #[arg(required = true)]
        inputs: Vec<String>,
        /// Output format: text or json (JSON Lines, one object per report).
        #[arg(long, value_enum, default_value = "text")]
        format: ReplayFormatArg,
    },
    /// Draw the lock-class dependency graph of traces or kernel logs (DOT or SVG).
    ///
    /// The SVG is rendered in-process. Cycle edges are highlighted and each edge is labelled with
    /// its type and where it was first seen. Big graphs show the cycles and their neighbourhood;
    /// --all shows everything.
    Graph {
        /// Trace files (JSON Lines) or kernel logs, or directories of them (`-`, or nothing
        /// when standard input is not a terminal, for standard input).
        inputs: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "svg")]
        format: GraphFormatArg,
        /// Draw every class, not just the cycles and their neighbourhood.
        #[arg(long)]
        all: bool,
        /// Most classes to draw when filtering.
        #[arg(long, default_value_t = 150)]
        max_nodes: usize,
        /// Title shown on the picture.
        #[arg(long)]
        title: Option<String>,
    },
}

/// The inputs named on the command line, directories expanded, standard input by default.
fn inputs_of(names: &[String]) -> Result<Vec<String>, ExitCode> {
    lockcheck::input::expand(names, lockcheck::input::stdin_is_terminal()).map_err(|e| {
        eprintln!("lockcheck: {e}");
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Parse {
            inputs,
            format,
            summary,
            verbose,
            fail_on,
        } => {
            let inputs = match inputs_of(&inputs) {
                Ok(i) => i,
                Err(code) => return code,
            };
            let opts = ParseOptions {
                inputs,
                format: match format {
                    FormatArg::Text => Format::Text,
                    FormatArg::Json => Format::Json,
                    FormatArg::Dot => Format::Dot,
                },
                summary,
                verbose,
                fail_on: fail_on.into(),
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let mut err = std::io::stderr();
            ExitCode::from(run(&opts, &mut out, &mut err).exit_code())
        }
        Command::Replay {
            inputs,
            format,
            split_class,
            merge_class,
            class_of,
            verbose,
        } => {
            let refinement = lockdep::replay::ClassRefinement {
                split: split_class.into_iter().collect(),
                merge: merge_class.into_iter().collect(),
                class_of: class_of.into_iter().collect(),
            };
            let inputs = match inputs_of(&inputs) {
                Ok(i) => i,
                Err(code) => return code,
            };
            let opts = lockcheck::replay::ReplayOptions {
                inputs,
                json: matches!(format, ReplayFormatArg::Json),
                refinement,
                verbose,
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let mut err = std::io::stderr();
            ExitCode::from(lockcheck::replay::run(&opts, &mut out, &mut err).exit_code())
        }
        Command::Check { inputs, format } => {
            let opts = lockcheck::check::CheckOptions {
                inputs,
                json: matches!(format, ReplayFormatArg::Json),
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let mut err = std::io::stderr();
            ExitCode::from(lockcheck::check::run(&opts, &mut out, &mut err).exit_code())
        }
        Command::Graph {
            inputs,
            format,
            all,
            max_nodes,
            title,
        } => {
            let inputs = match inputs_of(&inputs) {
                Ok(i) => i,
                Err(code) => return code,
            };
            let opts = lockcheck::graph_cmd::GraphCmdOptions {
                inputs,
                format: match format {
                    GraphFormatArg::Dot => lockcheck::graph::GraphFormat::Dot,
                    GraphFormatArg::Svg => lockcheck::graph::GraphFormat::Svg,
                },
                graph: lockcheck::graph::GraphOptions {
                    all,
                    max_nodes,
                    title,
                },
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let mut err = std::io::stderr();
            ExitCode::from(lockcheck::graph_cmd::run(&opts, &mut out, &mut err))
        }
    }
}
