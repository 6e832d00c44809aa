//! The pre-filter: where in the raw bytes something can matter to the scanner.
//!
//! While no report is open, a line changes what the scanner will do only if it is a
//! banner (which starts with `WARNING: `, `BUG: `, `INFO: ` or `DEBUG_LOCKS_WARN_ON(`), if it
//! carries a caller id (`[T123]`, which lines after it without one inherit), or if it is
//! a rule line (`=====…`) at most three lines before a banner (the lines just before a
//! hit are always read, so rule lines need no needle). A banner's keyword shows verbatim
//! in the raw bytes unless the normaliser removes or changes bytes inside it: control
//! characters (ANSI escapes start with one), C1 controls and no-break spaces
//! (U+0080–U+00A0), and quoted-printable escapes (`=3D`). Those are searched for too, so
//! the line machinery sees every such line. Caller ids are recovered by
//! [`last_caller_candidate`] over the bytes skipped.

use memchr::memmem::Finder;

/// Byte strings whose absence from a line (with no [suspicious](find_suspicious) byte)
/// means the line is no banner and does not switch the input to quoted-printable
/// decoding. Every banner starts with one (`[ INFO: ` and `[ BUG: ` included; a
/// no-break space after the colon is a suspicious byte).
pub const NEEDLES: &[&str] = &[
    "WARNING: ",
    "BUG: ",
    "INFO: ",
    "DEBUG_LOCKS_WARN_ON(",
    // A circular report whose head was lost (`BannerSpec::headless`).
    super::scan::HEADLESS_NEEDLE,
    "=3D",
    // A mail's HTML part, read as blank lines to its end (the plain part's report again).
    "Content-Type: text/html",
];

#[derive(Debug, Clone, Copy)]
enum Cached {
    /// Next occurrence at this absolute offset.
    At(u64),
    /// No occurrence before this absolute offset (from wherever the search started).
    NoneBefore(u64),
}

/// Finds the first needle or suspicious byte in a region, remembering for each what it
/// found so that no byte is searched twice for the same thing.
pub(crate) struct Hits {
    finders: Vec<Finder<'static>>,
    /// One per finder, then one for [`find_suspicious`].
    cache: Vec<Cached>,
}

impl Hits {
    pub(crate) fn new() -> Hits {
        let finders: Vec<Finder<'static>> = NEEDLES.iter().map(Finder::new).collect();
        let cache = vec![Cached::NoneBefore(0); finders.len() + 1];
        Hits { finders, cache }
    }

    /// Absolute offset of the first hit in `region`, which starts at absolute offset
    /// `start` at the beginning of a line and ends at the end of a line (or of the input).
    /// Regions passed in turn must not start before each other (they may end anywhere).
    pub(crate) fn first(&mut self, region: &[u8], start: u64) -> Option<u64> {
        let end = start + region.len() as u64;
        let mut best: Option<u64> = None;
        for i in 0..self.cache.len() {
            let from = match self.cache[i] {
                Cached::At(at) if at >= start => {
                    if at < end {
                        best = Some(best.map_or(at, |b| b.min(at)));
                    }
                    continue;
                }
                Cached::At(_) => start,
                Cached::NoneBefore(t) if t >= end => continue,
                Cached::NoneBefore(t) => t.max(start),
            };
            let hay = &region[(from - start) as usize..];
            let found = match self.finders.get(i) {
                Some(f) => f.find(hay),
                None => find_suspicious(hay),
            };
            self.cache[i] = match found {
                Some(k) => {
                    let at = from + k as u64;
                    best = Some(best.map_or(at, |b| b.min(at)));
                    Cached::At(at)
                }
                None => Cached::NoneBefore(end),
            };
        }
        best
    }
}

/// A byte the normaliser removes or changes inside a line: a control character (other
/// than tab, and carriage returns before the newline), or the first byte of a UTF-8
/// C1 control or no-break space. `next` is the byte after it.
#[inline(always)]
fn suspicious(b: u8, next: u8) -> bool {
    let control = (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r');
    let del = b == 0x7f;
    let lone_cr = (b == b'\r') & (next != b'\n') & (next != b'\r');
    let c1_or_nbsp = (b == 0xc2) & ((next & 0xe0 == 0x80) | (next == 0xa0));
    control | del | lone_cr | c1_or_nbsp
}

/// Position of the first [suspicious] byte in `hay` (taken to be followed by a newline).
pub(crate) fn find_suspicious(hay: &[u8]) -> Option<usize> {
    const CHUNK: usize = 64;
    let mut i = 0;
    // Whole chunks without early exit, so that the loop vectorises.
    while i + CHUNK < hay.len() {
        let c = &hay[i..i + CHUNK + 1];
        let mut any = false;
        for k in 0..CHUNK {
            any |= suspicious(c[k], c[k + 1]);
        }
        if any {
            break;
        }
        i += CHUNK;
    }
    (i..hay.len()).find(|&k| suspicious(hay[k], hay.get(k + 1).copied().unwrap_or(b'\n')))
}

/// Number of newlines in `hay` (`memchr`'s vectorised count).
pub(crate) fn count_newlines(hay: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', hay).count()
}

/// Position of the last `[` in `hay` that may open a caller id (`[T123]`, `[ C0]`):
/// followed, after any blanks or non-ASCII bytes, by `T` or `C` and a digit. A superset
/// of the normaliser's caller ids, for lines without suspicious bytes.
pub(crate) fn last_caller_candidate(hay: &[u8]) -> Option<usize> {
    memchr::memrchr_iter(b'[', hay).find(|&i| {
        let rest = &hay[i + 1..];
        let k = rest
            .iter()
            .position(|&b| !(b == b' ' || b == b'\t' || b == 0x0b || b == 0x0c || b >= 0x80))
            .unwrap_or(rest.len());
        matches!(rest.get(k), Some(b'T' | b'C')) && rest.get(k + 1).is_some_and(u8::is_ascii_digit)
    })
}

/// The caller id of a line in the usual console shape `[  123.456789][ T4242] text`,
/// when the normaliser certainly finds exactly that one (no other prefix can follow it);
/// `None` when unsure. For lines without suspicious bytes.
pub(crate) fn console_caller(line: &[u8]) -> Option<&[u8]> {
    let spaces = |i: usize| i + line[i..].iter().take_while(|&&b| b == b' ').count();
    let digits = |i: usize| i + line[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    let expect = |i: usize, b: u8| (line.get(i) == Some(&b)).then_some(i + 1);
    // The timestamp.
    let i = spaces(expect(0, b'[')?);
    let j = digits(i);
    let k = expect(j, b'.').filter(|_| j > i)?;
    let l = digits(k);
    let i = spaces(expect(l, b']').filter(|_| l > k)?);
    // The caller id.
    let i = spaces(expect(i, b'[')?);
    matches!(line.get(i), Some(b'T' | b'C')).then_some(())?;
    let j = digits(i + 1);
    let end = expect(j, b']').filter(|_| j > i + 1)?;
    // What follows must not be another prefix the normaliser would strip.
    let rest = &line[end..];
    let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    let prefix_like = match rest {
        [b'[' | b'<' | b'*', ..] => true,
        [b, ..] if *b >= 0x80 => true,
        [a, b, c, b' ', ..]
            if a.is_ascii_uppercase() && b.is_ascii_lowercase() && c.is_ascii_lowercase() =>
        {
            true
        }
        [a, b, c, d, b'-', ..] if [a, b, c, d].iter().all(|x| x.is_ascii_digit()) => true,
        _ => rest.starts_with(b"kernel:"),
    };
    (!prefix_like).then_some(&line[i..j])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suspicious_bytes() {
        assert_eq!(find_suspicious(b"plain text\r\n"), None);
        assert_eq!(find_suspicious(b"tab\tok\r\r\n"), None);
        assert_eq!(find_suspicious(b"WAR\rNING\n"), Some(3));
        assert_eq!(find_suspicious(b"x\x1b[31m"), Some(1));
        assert_eq!(find_suspicious(b"nb\xc2\xa0sp"), Some(2));
        assert_eq!(find_suspicious(b"c1\xc2\x85"), Some(2));
        assert_eq!(find_suspicious("degree \u{b0}".as_bytes()), None);
        assert_eq!(find_suspicious(b"del\x7f"), Some(3));
        let mut long = vec![b'a'; 1000];
        long[700] = 0;
        assert_eq!(find_suspicious(&long), Some(700));
        long[700] = b'\r';
        long[701] = b'\n';
        assert_eq!(find_suspicious(&long), None);
    }

    #[test]
    fn newlines_are_counted() {
        let mut v = Vec::new();
        for i in 0..20_000 {
            v.push(if i % 7 == 0 { b'\n' } else { b'x' });
        }
        assert_eq!(
            count_newlines(&v),
            v.iter().filter(|&&b| b == b'\n').count()
        );
        assert_eq!(count_newlines(b""), 0);
    }

    #[test]
    fn console_callers() {
        let c =
            |s: &str| console_caller(s.as_bytes()).map(|b| String::from_utf8_lossy(b).into_owned());
        assert_eq!(
            c("[  528.077900][ T7867] usb 1-1: x\n").as_deref(),
            Some("T7867")
        );
        assert_eq!(
            c("[    1.0][    C0] EXT4-fs (sda1): mounted\r\n").as_deref(),
            Some("C0")
        );
        assert_eq!(c("[1.5][T12]\n").as_deref(), Some("T12"));
        assert_eq!(c("[ 1.0][ T1] [ C2] x\n"), None);
        assert_eq!(c("[ 1.0][ T1] Nov 21 12:00:01 host kernel: x\n"), None);
        assert_eq!(c("[ 1.0][ T1] kernel: x\n"), None);
        assert_eq!(c("[ 1.0][ T1] <4>x\n"), None);
        assert_eq!(c("[ 1.0] usb\n"), None);
        assert_eq!(c("> [ 1.0][ T1] x\n"), None);
        assert_eq!(c("[ 1.][ T1] x\n"), None);
        assert_eq!(c("[ 1.0][ T] x\n"), None);
        // The shape the normaliser reads the same way.
        for s in [
            "[  528.077900][ T7867] usb 1-1: x\n",
            "[1.5][T12]\n",
            "[ 2.0][ C3]    WARNING: y\n",
        ] {
            let st = super::super::line::Normalizer::new().strip(s.as_bytes());
            assert_eq!(st.ctx, c(s), "{s}");
        }
    }

    #[test]
    fn caller_candidates() {
        let s = b"[ 1.0][ T12] a\n[ 2.0] b [sda]\n";
        assert_eq!(last_caller_candidate(s), Some(6));
        assert_eq!(last_caller_candidate(b"[   1.0][    C0]"), Some(8));
        assert_eq!(last_caller_candidate(b"[ 1.0] [Tx] [C] [T"), None);
    }

    #[test]
    fn hits_are_found_once_and_in_order() {
        let text = b"aaaa\nbb BUG: x\ncc\nINFO: \ndd\n";
        let mut h = Hits::new();
        assert_eq!(h.first(text, 100), Some(108));
        // A shorter region does not see the hit beyond its end.
        assert_eq!(h.first(&text[..5], 100), None);
        assert_eq!(h.first(text, 100), Some(108));
        // Past the first hit, the next one.
        assert_eq!(h.first(&text[15..], 115), Some(118));
        assert_eq!(h.first(&text[25..], 125), None);
    }
}
