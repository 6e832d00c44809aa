//! Kernel-style lock dependency validation for Rust programs.
