//! `lockcheck`: find, explain and replay lock-order problems.
//!
//! Exit status: 0 nothing found, 1 at least one report, 2 an input or usage error. A closed
//! output pipe ends the run quietly with the status of what was found until then.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anstream::{AutoStream, ColorChoice};
use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum, ValueHint};
use lockcheck::dest::Destination;
use lockcheck::output::Format;
use lockcheck::parse::ParseOptions;
use lockcheck::progress::Progress;
use lockcheck::style::{ColorWhen, Palette};
use lockcheck::ui::Ui;

#[derive(Parser)]
#[command(
    name = "lockcheck",
    version,
    about = "Find, explain and replay lockdep reports",
    long_about = "Find, explain and replay lockdep reports: lock-order problems in Linux \
kernel logs (lockdep splats), in lock traces recorded by the lockdep crate, and in the \
dependency graph files of a test suite.",
    after_help = "Exit status: 0 nothing found, 1 at least one report, 2 an input or usage \
error.\n\nExamples:\n  lockcheck parse dmesg.log\n  journalctl -k | lockcheck parse --summary\n  \
lockcheck replay run.jsonl\n  lockcheck graph run.jsonl -o graph.svg\n  \
lockcheck completions bash > ~/.local/share/bash-completion/completions/lockcheck",
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options every subcommand takes.
#[derive(Args)]
struct GlobalArgs {
    /// When to colour the output: auto (standard output is a colour terminal and NO_COLOR is
    /// not set), always, never.
    #[arg(
        long,
        value_enum,
        default_value = "auto",
        value_name = "WHEN",
        global = true
    )]
    color: ColorArg,
    /// Print nothing on standard output (and no progress bar): only the exit status tells.
    /// Errors still go to standard error.
    #[arg(short, long, global = true, conflicts_with = "output")]
    quiet: bool,
    /// Write the output to FILE instead of standard output (atomically: FILE is replaced only
    /// when the output is complete).
    #[arg(short, long, value_name = "FILE", global = true, value_hint = ValueHint::FilePath)]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

impl From<ColorArg> for ColorWhen {
    fn from(c: ColorArg) -> Self {
        match c {
            ColorArg::Auto => ColorWhen::Auto,
            ColorArg::Always => ColorWhen::Always,
            ColorArg::Never => ColorWhen::Never,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
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

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReplayFormatArg {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormatArg {
    Dot,
    Svg,
}

const PARSE_LONG_HELP: &str = "\
Find every lockdep report in kernel logs, extract its structure and classify it.

Reads console logs, dmesg, journal and syslog exports and mails: any console prefix \
(timestamps, caller ids, syslog fields), e-mail quoting, quoted-printable and soft wraps. \
Inputs may be plain or compressed with gzip, xz, zstd or bzip2 (recognised by content, not by \
name); directories are read recursively in name order; with no input and standard input not a \
terminal, standard input is read.

Every report kind lockdep prints is recognised: circular dependencies, recursive locking, \
inconsistent lock state, irq safe/unsafe order and inversion, invalid wait context, bad unlock \
balance, held locks freed or held at exit or when returning to user space, nested locks not \
taken, suspicious RCU usage, sleeping in atomic context and lockdep's own warnings. Each report \
gets the title syzbot would give it, so it can be searched and deduplicated against syzbot.

Each report gets a verdict with its evidence: likely_genuine, likely_false_positive (the report \
itself rules the deadlock out, e.g. two different locks shared one class) or undetermined, and \
what to check next. Circular reports are also replayed through the validator \
(docs/classification.md).

Output: text (a short summary per report; --verbose adds every extracted section), json (JSON \
Lines, one object per report, docs/json-format.md), dot (one Graphviz graph, a cluster per \
report), or --summary (one line per title with counts, text or json). Reports are printed as \
soon as they are found, so `dmesg -w | lockcheck parse` works live. An input without any report \
gets one line on standard error.";

#[derive(Subcommand)]
enum Command {
    /// Find every lockdep report in kernel logs, extract its structure and classify it.
    #[command(
        long_about = PARSE_LONG_HELP,
        after_help = "Exit status: 0 no report (at the --fail-on level), 1 at least one, \
2 an input could not be read or the command line is wrong.\n\nExamples:\n  \
lockcheck parse dmesg.log\n  lockcheck parse --fail-on genuine --summary ci-logs/",
        after_long_help = "Exit status: 0 no report (at the --fail-on level), 1 at least one, \
2 an input could not be read (the other inputs are still read) or the command line is wrong. A \
closed output pipe ends the run quietly with the status of the reports found until then.\n\n\
Examples:\n  lockcheck parse dmesg.log                             # every report, explained\n  \
journalctl -k | lockcheck parse                       # standard input\n  \
lockcheck parse --fail-on genuine --summary ci-logs/  # a CI gate: known false positives pass\n  \
lockcheck parse --format json console.log.xz | jq .title\n  \
lockcheck parse --format dot dmesg.log | dot -Tsvg > reports.svg"
    )]
    Parse {
        /// Log files or directories (every file below, recursively) to read; `-`, or
        /// nothing when standard input is not a terminal, reads standard input.
        #[arg(value_hint = ValueHint::AnyPath)]
        inputs: Vec<String>,
        /// Output format: text, json (JSON Lines, one object per report) or dot (Graphviz).
        #[arg(long, value_enum, default_value = "text")]
        format: FormatArg,
        /// Group reports by title with counts instead of printing each one (text or json).
        #[arg(long)]
        summary: bool,
        /// Print every extracted section (chain stacks, held locks, backtrace, evidence);
        /// text format only (json always has every section).
        #[arg(short, long, conflicts_with = "summary")]
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
    #[command(
        after_help = "Exit status: 0 no report, 1 at least one, 2 an input could not be read \
(or a trace line is malformed) or the command line is wrong.\n\nExamples:\n  \
lockcheck replay run.jsonl other-run.jsonl\n  \
lockcheck replay --split-class '&s->seqcount' run.jsonl\n  lockcheck replay dmesg.log"
    )]
    Replay {
        /// Trace files (JSON Lines) or kernel logs, or directories of them (`-`, or nothing
        /// when standard input is not a terminal, for standard input).
        #[arg(value_hint = ValueHint::AnyPath)]
        inputs: Vec<String>,
        /// Output format: text or json (JSON Lines, one object per report).
        #[arg(long, value_enum, default_value = "text")]
        format: ReplayFormatArg,
        /// Treat every instance of class NAME as a class of its own (repeatable; traces only).
        #[arg(long = "split-class", value_name = "NAME")]
        split_class: Vec<String>,
        /// Treat class A as class B (repeatable; traces only).
        #[arg(long = "merge-class", value_name = "A=B", value_parser = lockcheck::replay::parse_pair)]
        merge_class: Vec<(String, String)>,
        /// Put lock instance INSTANCE in class NAME (repeatable; traces only).
        #[arg(long = "class-of", value_name = "INSTANCE=NAME", value_parser = lockcheck::replay::parse_pair)]
        class_of: Vec<(String, String)>,
        /// Also print the events reconstructed from kernel splats (text format only: json
        /// always has them).
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
        after_help = "Exit status: 0 no report, 1 at least one, 2 a file could not be read \
(the other files are still checked) or the command line is wrong.\n\nExamples:\n  \
LOCKDEP_GRAPH=\"$PWD/target/lockdep/\" cargo nextest run && lockcheck check target/lockdep/\n  \
lockcheck check --format json target/lockdep/ shard-*/graphs/"
    )]
    Check {
        /// Graph files, traces, or directories (searched recursively for *.jsonl, *.json and
        /// *.ndjson files).
        #[arg(required = true, value_hint = ValueHint::AnyPath)]
        inputs: Vec<String>,
        /// Output format: text or json (JSON Lines, one object per report).
        #[arg(long, value_enum, default_value = "text")]
        format: ReplayFormatArg,
    },
    /// Draw the lock-class dependency graph of traces, graph files or kernel logs (DOT or SVG).
    ///
    /// The SVG is rendered in-process. Cycle edges are highlighted and each edge is labelled with
    /// its type and where it was first seen. Big graphs show the cycles and their neighbourhood,
    /// at most --max-nodes classes and --max-edges dependencies, and say what was left out (in
    /// the picture and on standard error); --all draws everything.
    #[command(
        after_help = "Exit status: 0 drawn, no cycle; 1 drawn, with a cycle; 2 an input \
could not be read (the graph of the others is still drawn) or the command line is wrong.\n\n\
Examples:\n  lockcheck graph run.jsonl -o graph.svg\n  \
lockcheck graph --format dot dmesg.log | dot -Tpng > graph.png"
    )]
    Graph {
        /// Trace files (JSON Lines), lockdep graph files (LOCKDEP_GRAPH) or kernel logs, or
        /// directories of them (`-`, or nothing when standard input is not a terminal, for
        /// standard input).
        #[arg(value_hint = ValueHint::AnyPath)]
        inputs: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "svg")]
        format: GraphFormatArg,
        /// Draw every class and dependency (no cap; big graphs make big pictures).
        #[arg(long, conflicts_with_all = ["max_nodes", "max_edges"])]
        all: bool,
        /// Most classes to draw.
        #[arg(long, default_value_t = 150, value_name = "N",
              value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
        max_nodes: usize,
        /// Most dependencies to draw (cycle dependencies are always drawn).
        #[arg(long, default_value_t = 300, value_name = "N",
              value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
        max_edges: usize,
        /// Title shown on the picture.
        #[arg(long)]
        title: Option<String>,
    },
    /// Print a shell completion script for SHELL.
    #[command(
        after_help = "Exit status: 0 printed, 2 the command line is wrong.\n\nExamples:\n  \
lockcheck completions bash > ~/.local/share/bash-completion/completions/lockcheck\n  \
lockcheck completions zsh > ~/.zfunc/_lockcheck   # with fpath+=(~/.zfunc) before compinit\n  \
lockcheck completions fish > ~/.config/fish/completions/lockcheck.fish"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) of lockcheck or of one subcommand.
    #[command(
        after_help = "Exit status: 0 printed, 2 the command line is wrong.\n\nExamples:\n  \
lockcheck man | man -l -\n  \
lockcheck man parse > lockcheck-parse.1"
    )]
    Man {
        /// A subcommand whose page to print (lockcheck-SUBCOMMAND(1)); none: lockcheck(1).
        #[arg(value_parser = ["parse", "replay", "check", "graph", "completions", "man"])]
        subcommand: Option<String>,
    },
}

/// Flag combinations that cannot work: a usage error (exit status 2) naming them.
fn refuse_combinations(cli: &Cli) -> Result<(), clap::Error> {
    let conflict = |msg: &str| {
        let mut cmd = Cli::command();
        cmd.build();
        let name = match &cli.command {
            Command::Parse { .. } => "parse",
            Command::Replay { .. } => "replay",
            Command::Check { .. } => "check",
            Command::Graph { .. } => "graph",
            Command::Completions { .. } => "completions",
            Command::Man { .. } => "man",
        };
        let sub = cmd.find_subcommand_mut(name).expect("a subcommand");
        Err(sub.error(ErrorKind::ArgumentConflict, msg))
    };
    match &cli.command {
        Command::Parse {
            format,
            summary,
            verbose,
            ..
        } => {
            if *summary && *format == FormatArg::Dot {
                return conflict(
                    "--summary cannot be drawn as --format dot: a summary is text or json",
                );
            }
            if *verbose && *format != FormatArg::Text {
                return conflict(
                    "--verbose changes only the text format: --format json has every section \
                     already, --format dot draws the cycles",
                );
            }
        }
        Command::Replay {
            format, verbose, ..
        } if *verbose && *format == ReplayFormatArg::Json => {
            return conflict(
                "--verbose changes only the text format: --format json has the reconstructed \
                 events already",
            );
        }
        Command::Completions { .. } | Command::Man { .. } if cli.global.quiet => {
            return conflict("--quiet would print nothing: completions and man only print");
        }
        _ => {}
    }
    Ok(())
}

/// Files to read, and each name given with how many of the files it stands for.
type Inputs = (Vec<String>, Vec<(String, usize)>);

/// The inputs named on the command line, directories expanded, standard input by default;
/// with how many files each name stands for. `what` names the files the subcommand reads, for
/// the message when there is no input at all.
fn inputs_of(names: &[String], what: &str) -> Result<Inputs, ExitCode> {
    let stdin_tty = lockcheck::input::stdin_is_terminal();
    let fail = |e: String| {
        eprintln!("lockcheck: {e}");
        ExitCode::from(2)
    };
    if names.is_empty() && stdin_tty {
        eprintln!(
            "lockcheck: no input: name {what} or directories, or pipe one into standard input (`-`)"
        );
        return Err(ExitCode::from(2));
    }
    if names.is_empty() {
        let all = lockcheck::input::expand(names, stdin_tty).map_err(fail)?;
        return Ok((all, vec![("-".to_string(), 1)]));
    }
    let mut all = Vec::new();
    let mut named = Vec::new();
    for name in names {
        let files =
            lockcheck::input::expand(std::slice::from_ref(name), stdin_tty).map_err(fail)?;
        named.push((name.clone(), files.len()));
        all.extend(files);
    }
    Ok((all, named))
}

/// The man page of `lockcheck` or of one of its subcommands.
fn man_page(sub: Option<&str>, out: &mut dyn Write) -> io::Result<()> {
    let mut cmd = Cli::command();
    cmd.build();
    let page = match sub {
        None => cmd,
        Some(name) => match cmd.find_subcommand(name) {
            Some(s) => s
                .clone()
                // The page's name (a one-shot program: leaking two short strings is fine).
                .name(&*format!("lockcheck-{name}").leak())
                .bin_name(format!("lockcheck {name}"))
                .version(env!("CARGO_PKG_VERSION")),
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "no such subcommand",
                ));
            }
        },
    };
    clap_mangen::Man::new(page).render(out)
}

/// `--color` as written on the command line, before clap parses it, so clap's own help and
/// errors follow it too.
fn color_flag(args: &[std::ffi::OsString]) -> Option<clap::ColorChoice> {
    let mut value = None;
    let mut it = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        if let Some(v) = a.strip_prefix("--color=") {
            value = Some(v.to_string());
        } else if a == "--color" {
            value = it.next().map(|v| v.to_string());
        }
    }
    match value.as_deref() {
        Some("always") => Some(clap::ColorChoice::Always),
        Some("never") => Some(clap::ColorChoice::Never),
        _ => None,
    }
}

/// The parsed command line; help, version and errors exit here (0 or 2).
fn parse_args() -> Cli {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut cmd = Cli::command();
    if let Some(choice) = color_flag(&args) {
        cmd = cmd.color(choice);
    }
    let matches = cmd.get_matches_from(args);
    match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    }
}

fn main() -> ExitCode {
    let cli = parse_args();
    if let Err(e) = refuse_combinations(&cli) {
        e.exit();
    }
    let g = &cli.global;
    let mut dest = if g.quiet {
        Destination::Quiet
    } else if let Some(path) = &g.output {
        match Destination::file(path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!(
                    "lockcheck: {}: cannot write: {}",
                    path.display(),
                    lockcheck::input::describe(&e)
                );
                return ExitCode::from(2);
            }
        }
    } else {
        Destination::stdout()
    };
    let to_stdout = matches!(dest, Destination::Stdout(_));
    let auto = to_stdout && AutoStream::choice(&io::stdout()) != ColorChoice::Never;
    let palette = Palette::for_choice(g.color.into(), auto);
    let ui = Ui {
        palette,
        progress: Progress::wanted(g.quiet),
    };
    // Never an escape code when colours are off (not even one from a log line): anstream
    // strips them; with colours on it passes them through (and translates them on old Windows
    // consoles).
    let choice = if palette.enabled() {
        ColorChoice::Always
    } else {
        ColorChoice::Never
    };
    let mut err = io::stderr();
    let code = {
        let raw: &mut (dyn Write + 'static) = &mut dest;
        let mut out = AutoStream::new(raw, choice);
        let code = run(cli.command, &ui, &mut out, &mut err);
        match out.flush() {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                eprintln!("lockcheck: writing output: {e}");
                2
            }
            _ => code,
        }
    };
    if code == 2 && !dest.written() {
        // Nothing could be read and nothing was written: an existing FILE stays as it was
        // (an empty picture or report list would look like a clean run).
        return ExitCode::from(code);
    }
    match dest.commit() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(code),
        Err(e) => {
            let what = dest
                .path()
                .map_or("standard output".to_string(), |p| p.display().to_string());
            eprintln!("lockcheck: {what}: cannot write: {e}");
            ExitCode::from(2)
        }
        Ok(()) => ExitCode::from(code),
    }
}

/// Runs one subcommand; returns its exit status.
fn run(command: Command, ui: &Ui, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match command {
        Command::Parse {
            inputs,
            format,
            summary,
            verbose,
            fail_on,
        } => {
            let (inputs, named) = match inputs_of(&inputs, "log files") {
                Ok(i) => i,
                Err(_) => return 2,
            };
            let opts = ParseOptions {
                inputs,
                named,
                format: match format {
                    FormatArg::Text => Format::Text,
                    FormatArg::Json => Format::Json,
                    FormatArg::Dot => Format::Dot,
                },
                summary,
                verbose,
                fail_on: fail_on.into(),
            };
            lockcheck::parse::run_with(&opts, ui, out, err).exit_code()
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
            let (inputs, _) = match inputs_of(&inputs, "lock traces (*.jsonl), kernel logs") {
                Ok(i) => i,
                Err(_) => return 2,
            };
            let opts = lockcheck::replay::ReplayOptions {
                inputs,
                json: format == ReplayFormatArg::Json,
                refinement,
                verbose,
            };
            lockcheck::replay::run_with(&opts, ui, out, err).exit_code()
        }
        Command::Check { inputs, format } => {
            let opts = lockcheck::check::CheckOptions {
                inputs,
                json: format == ReplayFormatArg::Json,
            };
            lockcheck::check::run_with(&opts, ui, out, err).exit_code()
        }
        Command::Graph {
            inputs,
            format,
            all,
            max_nodes,
            max_edges,
            title,
        } => {
            let (inputs, named) =
                match inputs_of(&inputs, "lock traces (*.jsonl), graph files, kernel logs") {
                    Ok(i) => i,
                    Err(_) => return 2,
                };
            let opts = lockcheck::graph_cmd::GraphCmdOptions {
                inputs,
                named: named.into_iter().map(|(name, _)| name).collect(),
                format: match format {
                    GraphFormatArg::Dot => lockcheck::graph::GraphFormat::Dot,
                    GraphFormatArg::Svg => lockcheck::graph::GraphFormat::Svg,
                },
                graph: lockcheck::graph::GraphOptions {
                    all,
                    max_nodes,
                    max_edges,
                    title,
                },
            };
            lockcheck::graph_cmd::run_with(&opts, ui, out, err)
        }
        Command::Completions { shell } => {
            // Generated whole first: clap_complete panics on a failed write (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "lockcheck", &mut script);
            match out.write_all(&script) {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    let _ = writeln!(err, "lockcheck: writing output: {e}");
                    2
                }
                _ => 0,
            }
        }
        Command::Man { subcommand } => match man_page(subcommand.as_deref(), out) {
            Ok(()) => 0,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
            Err(e) => {
                let _ = writeln!(err, "lockcheck: man: {e}");
                2
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn refused(args: &[&str]) -> bool {
        let cli = Cli::try_parse_from(args).expect("parses");
        refuse_combinations(&cli).is_err()
    }

    #[test]
    fn combinations_that_cannot_work_are_refused() {
        assert!(refused(&[
            "lockcheck",
            "parse",
            "--summary",
            "--format",
            "dot",
            "x"
        ]));
        assert!(refused(&[
            "lockcheck",
            "parse",
            "-v",
            "--format",
            "json",
            "x"
        ]));
        assert!(refused(&[
            "lockcheck",
            "replay",
            "-v",
            "--format",
            "json",
            "x"
        ]));
        assert!(refused(&["lockcheck", "-q", "man"]));
        assert!(!refused(&[
            "lockcheck",
            "parse",
            "--summary",
            "--format",
            "json",
            "x"
        ]));
        assert!(!refused(&["lockcheck", "parse", "-v", "x"]));
        assert!(!refused(&["lockcheck", "replay", "-v", "x"]));
        // Those clap refuses itself.
        for args in [
            &["lockcheck", "parse", "--summary", "-v", "x"][..],
            &["lockcheck", "-q", "-o", "f", "parse", "x"],
            &["lockcheck", "graph", "--all", "--max-edges", "3", "x"],
            &["lockcheck", "graph", "--max-nodes", "0", "x"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn the_color_flag_is_read_before_clap() {
        let os = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(
            color_flag(&os(&["lockcheck", "--color", "never", "parse"])),
            Some(clap::ColorChoice::Never)
        );
        assert_eq!(
            color_flag(&os(&["lockcheck", "parse", "--color=always"])),
            Some(clap::ColorChoice::Always)
        );
        assert_eq!(
            color_flag(&os(&["lockcheck", "parse", "--", "--color=always"])),
            None
        );
        assert_eq!(color_flag(&os(&["lockcheck", "parse"])), None);
    }

    #[test]
    fn every_subcommand_help_has_exit_status_and_two_examples() {
        let mut cmd = Cli::command();
        cmd.build();
        for sub in cmd.get_subcommands() {
            let help = sub
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            let name = sub.get_name();
            if name == "help" {
                continue;
            }
            assert!(help.contains("Exit status"), "{name}: {help}");
            let examples = help.split_once("Examples:").map_or(0, |(_, e)| {
                e.lines()
                    .filter(|l| l.trim_start().starts_with("lockcheck") || l.contains("lockcheck "))
                    .count()
            });
            assert!(examples >= 2, "{name} has {examples} examples: {help}");
        }
    }
}
