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
