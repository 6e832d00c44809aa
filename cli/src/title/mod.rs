//! syzbot-convention titles: `possible deadlock in alloc_pid`, `inconsistent lock state in X`,
//! `INFO: trying to register non-static key in X`, `BUG: MAX_LOCKDEP_KEYS too low!`, ...
//!
//! A report's title is the one syzkaller's own parser gives it: the report's text is
//! collected as syzkaller collects it ([`Region`]) and titled by syzkaller's format tables
//! ([`Region::describe`]), including whether syzkaller would call it corrupted. Reports
//! syzkaller would not title at all get a title from their structure ([`title`]).
//!
//! ```
//! use lockcheck::title::{Context, Region};
//!
//! let mut r = Region::open("INFO: trying to register non-static key.", Context::Console).unwrap();
//! for l in ["Call Trace:", " dump_stack+0x1/0x2", " register_lock_class+0x1/0x2",
//!           " _raw_spin_lock_bh+0x1/0x2", " tcp_fastopen_reset_cipher+0x194/0x580"] {
//!     r.push(l, &Context::Console);
//! }
//! assert_eq!(r.describe().title, "INFO: trying to register non-static key in tcp_fastopen_reset_cipher");
//! ```

mod formats;
mod frames;
mod normalize;
mod structured;
mod syzkaller;

pub use frames::{demangle, is_skipped};
pub use normalize::normalize;
pub use structured::title;
pub use syzkaller::{Context, MAX_TAIL_LINES, Region, SyzTitle, repeats_warning};
