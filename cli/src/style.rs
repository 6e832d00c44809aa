//! Colours of the text output (anstyle), and whether to use them.
//!
//! A [`Palette`] is either plain (every style empty: the output is byte for byte the uncoloured
//! text) or coloured. The command decides once (`--color`, `NO_COLOR`, whether standard output
//! is a terminal: [`Palette::for_choice`]); the printers only ask the palette for the style of
//! what they print.

use std::fmt::{self, Display};

use anstyle::{AnsiColor, Effects, Style};

use crate::report::Label;

/// `--color`: when to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorWhen {
    /// When the output is a terminal that supports it, and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always (even into a pipe or a file; `NO_COLOR` does not override the flag).
    Always,
    /// Never.
    Never,
}

/// The styles of the text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Palette {
    enabled: bool,
}

impl Palette {
    /// No colour at all.
    pub const PLAIN: Palette = Palette { enabled: false };
    /// Colours.
    pub const COLOURED: Palette = Palette { enabled: true };

    /// The palette for `when` and an output that is (`auto_says_yes`) a colour terminal per
    /// anstream's rules (`NO_COLOR`, `CLICOLOR`, `CLICOLOR_FORCE`, `TERM=dumb`).
    ///
    /// ```
    /// use lockcheck::style::{ColorWhen, Palette};
    /// assert_eq!(Palette::for_choice(ColorWhen::Auto, false), Palette::PLAIN);
    /// assert_eq!(Palette::for_choice(ColorWhen::Always, false), Palette::COLOURED);
    /// assert_eq!(Palette::for_choice(ColorWhen::Never, true), Palette::PLAIN);
    /// ```
    pub fn for_choice(when: ColorWhen, auto_says_yes: bool) -> Palette {
        let enabled = match when {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => auto_says_yes,
        };
        Palette { enabled }
    }

    /// Whether this palette colours anything.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn pick(&self, s: Style) -> Style {
        if self.enabled { s } else { Style::new() }
    }

    /// `text` in `style` (as is with the plain palette).
    pub fn paint<T: Display>(&self, style: Style, text: T) -> Painted<T> {
        Painted {
            style: self.pick(style),
            text,
        }
    }

    /// Where a report is: `source:line:`.
    pub fn location(&self) -> Style {
        Style::new().effects(Effects::BOLD)
    }

    /// The report kind (`circular dependency`).
    pub fn kind(&self) -> Style {
        AnsiColor::Magenta.on_default().effects(Effects::BOLD)
    }

    /// The title.
    pub fn title(&self) -> Style {
        Style::new().effects(Effects::BOLD)
    }

    /// A lock class name in a cycle or a list of locks.
    pub fn class(&self) -> Style {
        AnsiColor::Cyan.on_default()
    }

    /// The dependency that closes a cycle (the new edge) and the word that says so.
    pub fn closing(&self) -> Style {
        AnsiColor::Red.on_default().effects(Effects::BOLD)
    }

    /// Line references into the input (`[line 12]`) and other secondary text.
    pub fn dim(&self) -> Style {
        Style::new().effects(Effects::DIMMED)
    }

    /// Section headings (`verdict:`, `cycle:`, `evidence:`).
    pub fn heading(&self) -> Style {
        Style::new().effects(Effects::BOLD)
    }

    /// Warnings inside a report (`truncated`, `corrupted`).
    pub fn warn(&self) -> Style {
        AnsiColor::Yellow.on_default()
    }

    /// A verdict label: red for likely genuine, yellow for undetermined, green for a likely
    /// false positive.
    pub fn verdict(&self, label: Label) -> Style {
        let colour = match label {
            Label::LikelyGenuine => AnsiColor::Red,
            Label::Undetermined => AnsiColor::Yellow,
            Label::LikelyFalsePositive => AnsiColor::Green,
        };
        colour.on_default().effects(Effects::BOLD)
    }

    /// A verdict label given as the string the JSON output uses.
    pub fn verdict_str(&self, label: &str) -> Style {
        match label {
            "likely_genuine" => self.verdict(Label::LikelyGenuine),
            "likely_false_positive" => self.verdict(Label::LikelyFalsePositive),
            _ => self.verdict(Label::Undetermined),
        }
    }
}

/// Text with a style, displayed with its escape codes around it (none when the style is
/// empty).
pub struct Painted<T> {
    style: Style,
    text: T,
}

impl<T: Display> Display for Painted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.style == Style::new() {
            return self.text.fmt(f);
        }
        write!(f, "{}", self.style.render())?;
        self.text.fmt(f)?;
        write!(f, "{}", self.style.render_reset())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_palette_adds_no_bytes() {
        let p = Palette::PLAIN;
        assert_eq!(p.paint(p.kind(), "circular").to_string(), "circular");
        assert_eq!(
            p.paint(p.verdict(Label::LikelyGenuine), "likely_genuine")
                .to_string(),
            "likely_genuine"
        );
    }

    #[test]
    fn coloured_palette_wraps_in_escape_codes() {
        let p = Palette::COLOURED;
        let s = p.paint(p.verdict(Label::LikelyGenuine), "x").to_string();
        assert!(s.starts_with("\x1b["), "{s:?}");
        assert!(s.ends_with("\x1b[0m"), "{s:?}");
        assert!(s.contains('x'));
        // Distinct verdicts, distinct colours.
        assert_ne!(
            p.verdict(Label::LikelyGenuine),
            p.verdict(Label::LikelyFalsePositive)
        );
    }
}
