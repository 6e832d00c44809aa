//! What every subcommand shares about inputs: which inputs a command line names (files,
//! directories walked recursively, standard input), opening them (compressed logs are
//! recognised by their first bytes and decompressed as they are read; binary files are
//! refused), naming their errors, and the exit status.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::path::Path;

/// What a run found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Reports printed.
    pub reports: usize,
    /// Reports below the `--fail-on` level: printed, but not counted by the exit status.
    pub tolerated: usize,
    /// Inputs that could not be read (or lines of them that were malformed).
    pub input_errors: usize,
    /// The output pipe was closed.
    pub broken_pipe: bool,
}

impl Outcome {
    /// The documented exit status: 2 on any input error, else 1 if any report at or above
    /// the `--fail-on` level, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.input_errors > 0 {
            2
        } else if self.reports > self.tolerated {
            1
        } else {
            0
        }
    }
}

/// Which reports make the exit status 1 (`--fail-on`): a CI job can fail on likely-genuine
/// reports and pass known false positives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FailOn {
    /// Only reports judged `likely_genuine`.
    Genuine,
    /// `likely_genuine` and `undetermined` reports: everything but likely false positives.
    Undetermined,
    /// Every report, whatever its verdict.
    #[default]
    Any,
    /// No report: the exit status says only whether the inputs could be read.
    None,
}

impl FailOn {
    /// Whether a report with this verdict counts for the exit status.
    ///
    /// ```
    /// use lockcheck::input::FailOn;
    /// use lockcheck::report::Label;
    /// assert!(FailOn::Undetermined.counts(Label::Undetermined));
    /// assert!(!FailOn::Undetermined.counts(Label::LikelyFalsePositive));
    /// assert!(!FailOn::Genuine.counts(Label::Undetermined));
    /// ```
    pub fn counts(self, label: crate::report::Label) -> bool {
        use crate::report::Label;
        match self {
            FailOn::Any => true,
            FailOn::None => false,
            FailOn::Genuine => label == Label::LikelyGenuine,
            FailOn::Undetermined => label != Label::LikelyFalsePositive,
        }
    }
}

impl Outcome {
    /// Records how reading `input` ended: `reports` found, or an error named on `err` (a closed
    /// output pipe is not an error, it stops the run). Returns true when the run should stop.
    pub fn record(&mut self, err: &mut dyn Write, input: &str, result: io::Result<usize>) -> bool {
        match result {
            Ok(n) => self.reports += n,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.broken_pipe = true;
                return true;
            }
            Err(e) => {
                // Either the input failed mid-way or writing failed.
                let _ = writeln!(err, "lockcheck: {input}: {}", describe(&e));
                self.input_errors += 1;
            }
        }
        false
    }
}

/// The inputs a command line names: each file as given, each directory's regular files
/// (recursively, in name order, symbolic links to directories not followed), `-` for
/// standard input. With no name at all, standard input when it is not a terminal.
///
/// Names that cannot be listed are returned as they are, so that opening them reports
/// the error with the name.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("lockcheck-doc-{}", std::process::id()));
/// std::fs::create_dir_all(dir.join("sub")).unwrap();
/// std::fs::write(dir.join("sub/b.log"), "").unwrap();
/// std::fs::write(dir.join("a.log"), "").unwrap();
/// let names = lockcheck::input::expand(&[dir.display().to_string()], false).unwrap();
/// assert!(names[0].ends_with("a.log") && names[1].ends_with("b.log"));
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn expand(names: &[String], stdin_is_terminal: bool) -> Result<Vec<String>, String> {
    if names.is_empty() {
        if stdin_is_terminal {
            return Err(
                "no input: name log files or directories, or pipe a log into \
                        standard input (`-`)"
                    .into(),
            );
        }
        return Ok(vec!["-".into()]);
    }
    let mut out = Vec::new();
    for name in names {
        if name != "-" && Path::new(name).is_dir() {
            walk(Path::new(name), &mut out);
        } else {
            out.push(name.clone());
        }
    }
    Ok(out)
}

/// Whether standard input is a terminal (then it is not read without `-`).
pub fn stdin_is_terminal() -> bool {
    io::stdin().is_terminal()
}

fn walk(dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).collect(),
        Err(_) => {
            // Reported when opened.
            out.push(dir.display().to_string());
            return;
        }
    };
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            walk(&path, out);
        } else if ft.is_file() || ft.is_symlink() && path.is_file() {
            out.push(path.display().to_string());
        }
    }
}

/// How an input's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Text as it is.
    Plain,
    /// gzip (`.gz`), several members in a row allowed.
    Gzip,
    /// xz (`.xz`), several streams in a row allowed.
    Xz,
    /// Zstandard (`.zst`), several frames in a row allowed.
    Zstd,
    /// bzip2 (`.bz2`), several streams in a row allowed.
    Bzip2,
}

impl Encoding {
    /// The encoding whose magic bytes `head` starts with.
    pub fn sniff(head: &[u8]) -> Encoding {
        if head.starts_with(&[0x1f, 0x8b]) {
            Encoding::Gzip
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Encoding::Xz
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Encoding::Zstd
        } else if head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
            Encoding::Bzip2
        } else {
            Encoding::Plain
        }
    }
}

/// Opens `name` for buffered reading; `-` is standard input. Compressed inputs are
/// decompressed as they are read; an input that is not text fails with an error saying
/// what it looks like.
pub fn open(name: &str) -> io::Result<Box<dyn BufRead>> {
    open_with(name, &crate::progress::Progress::disabled())
}

/// [`open`], with the bytes read from the file (before decompression) counted by `progress`.
pub fn open_with(name: &str, progress: &crate::progress::Progress) -> io::Result<Box<dyn BufRead>> {
    progress.start_input(name);
    let raw: Box<dyn Read> = if name == "-" {
        Box::new(io::stdin())
    } else {
        if Path::new(name).is_dir() {
            // A directory that could not be listed says why.
            std::fs::read_dir(name)?;
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory",
            ));
        }
        Box::new(File::open(name)?)
    };
    open_reader(progress.counted(raw))
}

/// [`open`] over any reader.
pub fn open_reader(raw: Box<dyn Read>) -> io::Result<Box<dyn BufRead>> {
    let (head, raw) = peek(raw, 8)?;
    let raw = BufReader::with_capacity(1 << 16, raw);
    let text: Box<dyn Read> = match Encoding::sniff(&head) {
        Encoding::Plain => Box::new(raw),
        Encoding::Gzip => Box::new(Named("gzip", flate2::bufread::MultiGzDecoder::new(raw))),
        Encoding::Bzip2 => Box::new(Named("bzip2", bzip2::bufread::MultiBzDecoder::new(raw))),
        Encoding::Xz => Box::new(Named("xz", lzma_rust2::XzReader::new(raw, true))),
        Encoding::Zstd => Box::new(Named("zstd", ZstdFrames::new(raw))),
    };
    let (head, text) = peek(text, 1)?;
    if let Some(what) = binary_kind(&head) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not a text log ({what})"),
        ));
    }
    Ok(Box::new(BufReader::with_capacity(1 << 16, text)))
}

/// At least `n` first bytes of `r` (fewer at its end; more if one read brought them) and a
/// reader that still yields them. Reads no more than needed, so a live stream (`dmesg -w`)
/// is not held up waiting for a full block.
fn peek(mut r: Box<dyn Read>, n: usize) -> io::Result<(Vec<u8>, Box<dyn Read>)> {
    let mut head = Vec::with_capacity(n.max(4096));
    let mut chunk = [0u8; 4096];
    while head.len() < n {
        let got = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        head.extend_from_slice(&chunk[..got]);
    }
    let again = io::Cursor::new(head.clone()).chain(r);
    Ok((head, Box::new(again)))
}

/// What kind of binary file `head` (the first bytes of the decompressed input) is, if it
/// is not text: a known file signature, or many NUL and other control bytes.
fn binary_kind(head: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"\x7fELF", "an ELF binary"),
        (b"PK\x03\x04", "a zip archive"),
        (b"\x89PNG", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"%PDF", "a PDF document"),
        (b"7z\xbc\xaf\x27\x1c", "a 7-zip archive"),
        (
            b"\x04\x22\x4d\x18",
            "lz4-compressed data (not supported: decompress it first)",
        ),
        (
            b"LZIP",
            "lzip-compressed data (not supported: decompress it first)",
        ),
        (
            b"\x1f\x9d",
            "compress(1) data (not supported: decompress it first)",
        ),
    ];
    if let Some((_, what)) = SIGNATURES.iter().find(|(sig, _)| head.starts_with(sig)) {
        return Some(what);
    }
    if head.is_empty() {
        return None;
    }
    // NUL bytes do not count: a log truncated in place by logrotate's copytruncate starts
    // with a hole of them, and serial consoles sprinkle some. Other control bytes fill
    // binary files and not logs.
    let text_len = head.iter().filter(|&&b| b != 0).count();
    let odd = head
        .iter()
        .filter(|&&b| b != 0 && b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x1b | 0x0c))
        .count();
    // Control bytes alone sit at the threshold for random data (26 of 256 values, about 10%),
    // so data with somewhat fewer of them counts as binary when much of it is not UTF-8 either
    // (a log in Latin-1 or with serial noise has a few such bytes, random data most of its
    // high ones).
    let binary = odd * 10 > text_len || (odd * 20 > text_len && invalid_utf8(head) * 4 > text_len);
    (text_len >= 64 && binary).then_some("binary data")
}

/// How many bytes of `bytes` are in sequences that are not UTF-8 (a sequence cut off by the
/// end is not counted: `bytes` may end inside one).
fn invalid_utf8(mut bytes: &[u8]) -> usize {
    let mut invalid = 0;
    while let Err(e) = std::str::from_utf8(bytes) {
        let Some(len) = e.error_len() else { break };
        invalid += len;
        bytes = &bytes[e.valid_up_to() + len..];
    }
    invalid
}

/// A decompressor whose errors say which format was being read.
struct Named<R>(&'static str, R);

impl<R: Read> Read for Named<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.1.read(buf).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} data is damaged or cut off: {e}", self.0),
            )
        })
    }
}

/// Zstandard frames one after another, as `zstd` writes when files are concatenated.
struct ZstdFrames<R: BufRead> {
    state: ZstdState<R>,
}

enum ZstdState<R: BufRead> {
    Between(R),
    Frame(Box<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>),
    Done,
}

impl<R: BufRead> ZstdFrames<R> {
    fn new(r: R) -> ZstdFrames<R> {
        ZstdFrames {
            state: ZstdState::Between(r),
        }
    }
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match std::mem::replace(&mut self.state, ZstdState::Done) {
                ZstdState::Done => return Ok(0),
                ZstdState::Between(mut r) => {
                    if r.fill_buf()?.is_empty() {
                        return Ok(0);
                    }
                    let d = ruzstd::decoding::StreamingDecoder::new(r)
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                    self.state = ZstdState::Frame(Box::new(d));
                }
                ZstdState::Frame(mut d) => {
                    let n = d.read(buf)?;
                    if n > 0 || buf.is_empty() {
                        self.state = ZstdState::Frame(d);
                        return Ok(n);
                    }
                    self.state = ZstdState::Between(d.into_inner());
                }
            }
        }
    }
}

/// A short description of an I/O error, for messages that name the input.
pub fn describe(e: &io::Error) -> String {
    match e.kind() {
        // A message of our own (such as a missing directory) says more than the kind.
        io::ErrorKind::NotFound if e.get_ref().is_some() => e.to_string(),
        io::ErrorKind::NotFound => "no such file".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::IsADirectory => "is a directory".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same pseudo-random bytes every run (xorshift).
    fn noise(len: usize, mut seed: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect()
    }

    #[test]
    fn random_bytes_are_binary_every_time() {
        for seed in 1..200 {
            let head = noise(65536, seed);
            assert_eq!(binary_kind(&head), Some("binary data"), "seed {seed}");
        }
    }

    #[test]
    fn logs_with_odd_bytes_stay_text() {
        let line = "[  12.345678] WARNING: possible circular locking dependency detected\n";
        let plain = line.repeat(100);
        assert_eq!(binary_kind(plain.as_bytes()), None);
        // Latin-1 and serial noise: a few invalid bytes and control characters per line.
        let noisy: Vec<u8> = plain
            .lines()
            .flat_map(|l| {
                let mut b = l.as_bytes().to_vec();
                b.extend_from_slice(b"\xe9\x01\xff\n");
                b
            })
            .collect();
        assert_eq!(binary_kind(&noisy), None);
        // A hole of NULs (copytruncate) before the text.
        let mut holed = vec![0u8; 4096];
        holed.extend_from_slice(plain.as_bytes());
        assert_eq!(binary_kind(&holed), None);
        // UTF-8 text in another script.
        assert_eq!(
            binary_kind("журнал ядра: блокировка\n".repeat(50).as_bytes()),
            None
        );
    }

    #[test]
    fn invalid_utf8_counts_bad_sequences_only() {
        assert_eq!(invalid_utf8("héllo".as_bytes()), 0);
        assert_eq!(invalid_utf8(b"a\xffb\xfe"), 2);
        // Cut off inside a sequence at the end: not counted.
        assert_eq!(invalid_utf8(&"é".as_bytes()[..1]), 0);
    }
}
