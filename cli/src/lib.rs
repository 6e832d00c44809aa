//! The library behind the `lockcheck` command: every subcommand is a module usable without clap.
//!
//! - [`splat`]: find lockdep reports in kernel logs (any decoration: timestamps, caller
//!   ids, syslog, e-mail quoting, quoted-printable, soft wraps) and extract a [`report::Report`];
//! - [`classify`]: a verdict per report from a documented rule table;
//! - [`title`]: syzbot-convention titles;
//! - [`output`]: text, JSON Lines, Graphviz and summary back-ends;
//! - [`parse`]: the `lockcheck parse` command itself (inputs, formats, exit status);
//! - [`check`]: `lockcheck check`, the merge of a test suite's graph files and traces;
//! - [`style`], [`progress`], [`dest`], [`ui`]: colours, the progress bar and where output goes.
//!
//! ```
//! let log = std::fs::read_to_string(concat!(
//!     env!("CARGO_MANIFEST_DIR"),
//!     "/../fixtures/logs/010-recursive-rxrpc-email-flowed-wrap.log"
//! )).unwrap();
//! let reports = lockcheck::splat::parse_str("010.log", &log);
//! assert_eq!(reports[0].title, "possible deadlock in rxrpc_put_peer");
//! assert_eq!(reports[0].verdict.label.as_str(), "likely_genuine");
//! ```

pub mod check;
pub mod classify;
pub mod dest;
pub mod graph;
pub mod graph_cmd;
pub mod input;
pub mod output;
pub mod parse;
pub mod progress;
pub mod replay;
pub mod report;
pub mod splat;
pub mod style;
pub mod title;
pub mod ui;
