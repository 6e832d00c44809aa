//! Text handling shared by the back-ends: escaping, shortening, measuring.

/// Characters XML 1.0 cannot carry (C0 controls but tab/newline/CR, U+FFFE, U+FFFF) become
/// U+FFFD; so do the other C0 controls when a single line is wanted.
fn clean(c: char, keep_newlines: bool) -> char {
    match c {
        '\t' => ' ',
        '\n' | '\r' if keep_newlines => c,
        c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{fffe}' || c == '\u{ffff}' => '\u{fffd}',
        c => c,
    }
}

/// Escapes text for XML character data and attribute values (both quote kinds).
pub(crate) fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match clean(c, true) {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// A Graphviz double-quoted string holding literal text.
///
/// Backslash and quote are escaped (Graphviz reads `\n`, `\l`, `\N`... in labels); `&` becomes
/// `&amp;` because Graphviz decodes HTML entities such as `&lt;` in ordinary labels too; a
/// line break in the text becomes Graphviz's `\n`.
pub(crate) fn dot_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match clean(c, true) {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '&' => out.push_str("&amp;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Joins lines for a Graphviz label (each already literal text).
pub(crate) fn dot_label(lines: &[&str]) -> String {
    dot_quoted(&lines.join("\n"))
}

/// At most `max` characters, with `…` when cut; line breaks become spaces.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut out: String = one_line.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Width in pixels of `s` in the monospace font at `size` px (advance 0.6 em; wide East Asian
/// characters count double).
pub(crate) fn width(s: &str, size: f64) -> f64 {
    let cells: usize = s
        .chars()
        .map(|c| match c as u32 {
            0x1100..=0x115f
            | 0x2e80..=0xa4cf
            | 0xac00..=0xd7a3
            | 0xf900..=0xfaff
            | 0xff00..=0xff60 => 2,
            0x300..=0x36f => 0,
            _ => 1,
        })
        .sum();
    cells as f64 * size * 0.6
}

#[cfg(test)]
mod tests {
    use super::*;

    const NASTY: &str = r#"&(&sb->s_type->i_lock_key#24)->rlock "q" <x> a/b c\d"#;

    #[test]
    fn xml_escapes_markup_and_quotes() {
        let e = xml(NASTY);
        assert_eq!(
            e,
            "&amp;(&amp;sb-&gt;s_type-&gt;i_lock_key#24)-&gt;rlock &quot;q&quot; &lt;x&gt; a/b c\\d"
        );
        assert!(!e.contains('<') && !e.contains('"'));
        assert_eq!(xml("it's"), "it&#39;s");
    }

    #[test]
    fn xml_replaces_characters_xml_cannot_carry() {
        assert_eq!(xml("\u{1b}[1;31mred\u{0}"), "\u{fffd}[1;31mred\u{fffd}");
        assert_eq!(xml("a\tb"), "a b");
    }

    #[test]
    fn dot_strings_escape_quote_backslash_and_entities() {
        assert_eq!(dot_quoted(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(dot_quoted("&s->seqcount#2"), r#""&amp;s->seqcount#2""#);
        assert_eq!(dot_quoted("&lt;"), r#""&amp;lt;""#);
        assert_eq!(dot_label(&["EN", "f <x>"]), r#""EN\nf <x>""#);
        assert_eq!(dot_quoted("a\u{1b}b"), "\"a\u{fffd}b\"");
    }

    #[test]
    fn shorten_counts_characters() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("ab\ncd", 10), "ab cd");
        assert_eq!(shorten("ééé", 3), "ééé");
    }

    #[test]
    fn width_is_monospace() {
        assert_eq!(width("abcd", 10.0), 24.0);
        assert_eq!(width("中", 10.0), 12.0);
    }
}
