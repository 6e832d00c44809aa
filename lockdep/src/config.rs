//! Limits and switches, with kernel-like defaults and environment overrides.

use std::str::FromStr;

/// Validator settings. Every limit has the kernel's default or a larger one.
///
/// ```
/// let config = lockdep::Config { max_lock_depth: 64, ..lockdep::Config::default() };
/// let validator = lockdep::Validator::new(config);
/// assert_eq!(validator.config().max_lock_depth, 64);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Held locks per thread (`MAX_LOCK_DEPTH`, kernel 48). Env `LOCKDEP_MAX_DEPTH`.
    pub max_lock_depth: usize,
    /// Lock classes (`MAX_LOCKDEP_KEYS`, kernel 8192). Env `LOCKDEP_MAX_CLASSES`.
    pub max_classes: usize,
    /// Dependencies between classes (kernel 32768 list entries). Env `LOCKDEP_MAX_EDGES`.
    pub max_edges: usize,
    /// Distinct validated chains (`MAX_LOCKDEP_CHAINS`, kernel 65536). Env `LOCKDEP_MAX_CHAINS`.
    pub max_chains: usize,
    /// Capture a backtrace for every new dependency and report. Env `LOCKDEP_BACKTRACE=1`.
    pub backtraces: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_lock_depth: 48,
            max_classes: 8192,
            max_edges: 32768,
            max_chains: 65536,
            backtraces: false,
        }
    }
}

/// Environment variable names, shared with limit reports.
pub(crate) const ENV_DEPTH: &str = "LOCKDEP_MAX_DEPTH";
pub(crate) const ENV_CLASSES: &str = "LOCKDEP_MAX_CLASSES";
pub(crate) const ENV_EDGES: &str = "LOCKDEP_MAX_EDGES";
pub(crate) const ENV_CHAINS: &str = "LOCKDEP_MAX_CHAINS";
pub(crate) const ENV_BACKTRACE: &str = "LOCKDEP_BACKTRACE";

/// The limits a validator enforces, each reported once per validator when it runs out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Limit {
    Depth,
    Classes,
    Edges,
    Chains,
}

impl Limit {
    /// The kernel's name for it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Limit::Depth => "MAX_LOCK_DEPTH",
            Limit::Classes => "MAX_LOCKDEP_KEYS",
            Limit::Edges => "MAX_LOCKDEP_ENTRIES",
            Limit::Chains => "MAX_LOCKDEP_CHAINS",
        }
    }

    pub(crate) fn env_var(self) -> &'static str {
        match self {
            Limit::Depth => ENV_DEPTH,
            Limit::Classes => ENV_CLASSES,
            Limit::Edges => ENV_EDGES,
            Limit::Chains => ENV_CHAINS,
        }
    }

    pub(crate) fn config_field(self) -> &'static str {
        match self {
            Limit::Depth => "max_lock_depth",
            Limit::Classes => "max_classes",
            Limit::Edges => "max_edges",
            Limit::Chains => "max_chains",
        }
    }

    /// Its value in `config`.
    pub(crate) fn value(self, config: &Config) -> usize {
        match self {
            Limit::Depth => config.max_lock_depth,
            Limit::Classes => config.max_classes,
            Limit::Edges => config.max_edges,
            Limit::Chains => config.max_chains,
        }
    }

    /// What a report says of it, for a validator configured by `config` (`from_env`: from the
    /// environment variables).
    pub(crate) fn info(self, config: &Config, from_env: bool) -> crate::report::LimitInfo {
        crate::report::LimitInfo {
            name: self.name(),
            value: self.value(config),
            env_var: self.env_var(),
            config_field: self.config_field(),
            from_env,
        }
    }
}

impl Config {
    /// The defaults, overridden by the `LOCKDEP_*` environment variables. A value that does not
    /// parse is reported on stderr (naming the variable) and ignored.
    pub fn from_env() -> Self {
        let mut c = Config::default();
        env_num(ENV_DEPTH, &mut c.max_lock_depth);
        env_num(ENV_CLASSES, &mut c.max_classes);
        env_num(ENV_EDGES, &mut c.max_edges);
        env_num(ENV_CHAINS, &mut c.max_chains);
        if let Ok(v) = std::env::var(ENV_BACKTRACE) {
            match v.as_str() {
                "1" | "true" | "yes" | "on" => c.backtraces = true,
                "0" | "false" | "no" | "off" | "" => c.backtraces = false,
                other => eprintln!("lockdep: ignoring {ENV_BACKTRACE}={other:?}: expected 1 or 0"),
            }
        }
        c
    }
}

fn env_num(var: &str, slot: &mut usize) {
    if let Ok(v) = std::env::var(var) {
        match usize::from_str(v.trim()) {
            Ok(n) if n > 0 => *slot = n,
            _ => eprintln!("lockdep: ignoring {var}={v:?}: expected a positive integer"),
        }
    }
}
