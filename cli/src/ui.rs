//! What a run shows besides its output: colours and a progress bar. Built once by the command
//! from `--color`, `--quiet` and what standard output and standard error are; the library's
//! defaults show neither.

use crate::style::Palette;

/// Colours of the text output and the run's progress bar.
#[derive(Clone, Default)]
pub struct Ui {
    /// Colours of the text output ([`Palette::PLAIN`] by default).
    pub palette: Palette,
    /// Whether a progress bar ([`crate::progress::Progress`]) may be drawn on standard error (off by default).
    pub progress: bool,
}
