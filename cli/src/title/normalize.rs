//! How syzbot shows a title: dynamic parts replaced (executor names, addresses, line
//! numbers, offsets, CPU and other numbers), at most 120 printable characters, single
//! spaces. The replacement table is syzkaller's `dynamicTitleReplacement`.

use std::sync::LazyLock;

use regex::Regex;

static REPLACEMENTS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"syz-executor\.?[0-9]+((/|:)[0-9]+)?", "syz-executor"),
        (r"syzkaller[0-9]+((/|:)[0-9]+)?", "syzkaller"),
        (r"([^a-zA-Z0-9])(?:0x)?[0-9a-f]{6,}", "${1}ADDR"),
        (r"([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})", "IP"),
        (r"(\.[0-9A-Za-z_]+)(:[0-9]+)+", "${1}:LINE"),
        (r"([a-zA-Z][a-zA-Z0-9_.]+)\+0x[0-9a-z]+/0x[0-9a-z]+", "${1}"),
        (r"CPU#[0-9]+", "CPU"),
        (r"([^0-9A-Za-z_])([0-9]+)([^0-9A-Za-z_]|$)", "${1}NUM${3}"),
        (r"([0-9]+){7,}", "NUM"),
    ]
    .into_iter()
    .map(|(r, w)| (Regex::new(r).unwrap(), w))
    .collect()
});

/// A title as syzbot shows it. (`\w`, `\d` are spelt as ASCII classes: Go's are ASCII, Rust's
/// Unicode.)
pub fn normalize(title: &str) -> String {
    let mut s = title.to_string();
    for (re, with) in REPLACEMENTS.iter() {
        // Matches may overlap (`0,1,2`): repeat until nothing changes.
        for _ in 0..64 {
            let next = re.replace_all(&s, *with).into_owned();
            if next == s {
                break;
            }
            s = next;
        }
    }
    sanitize(&s)
}

/// At most 120 bytes, tabs as spaces, no other control or non-ASCII bytes, single spaces.
fn sanitize(title: &str) -> String {
    const MAX: usize = 120;
    let mut out = String::with_capacity(title.len().min(MAX));
    let mut prev = b' ';
    for &b in title.as_bytes().iter().take(MAX) {
        let ch = match b {
            b'\t' => b' ',
            c if !(0x20..0x7f).contains(&c) => continue,
            c => c,
        };
        if ch == b' ' && prev == b' ' {
            continue;
        }
        out.push(ch as char);
        prev = ch;
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacements() {
        assert_eq!(
            normalize("WARNING in foo+0x12/0x40 at fs/x.c:123 on CPU#3"),
            "WARNING in foo at fs/x.c:LINE on CPU"
        );
        assert_eq!(
            normalize("possible deadlock in alloc_pid"),
            "possible deadlock in alloc_pid"
        );
        assert_eq!(
            normalize("BUG: MAX_LOCKDEP_KEYS too low!"),
            "BUG: MAX_LOCKDEP_KEYS too low!"
        );
        assert_eq!(normalize("a\t\tb  c"), "a b c");
        assert_eq!(normalize("detected \u{e9}12 x"), "detected NUM x");
    }
}
