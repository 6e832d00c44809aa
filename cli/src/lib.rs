//! The library behind the `lockcheck` command: every subcommand is a module usable without clap.
