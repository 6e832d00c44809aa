//! Where a command's output goes: standard output, a file (`-o FILE`, written atomically), or
//! nowhere (`-q`).
//!
//! A file is written to a temporary file beside it and renamed over `FILE` by
//! [`Destination::commit`], so a reader never sees half an output and a run that cannot write
//! leaves an existing `FILE` as it was. A destination dropped without `commit` removes its
//! temporary file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// An output destination.
pub enum Destination {
    /// Standard output, buffered.
    Stdout(BufWriter<io::Stdout>),
    /// A temporary file, renamed to its final name on commit.
    File {
        /// The buffered temporary file.
        writer: BufWriter<File>,
        /// The temporary file's path.
        tmp: PathBuf,
        /// The final path.
        path: PathBuf,
        /// Renamed already.
        done: bool,
        /// Any byte written.
        written: bool,
    },
    /// `--quiet`: everything is dropped.
    Quiet,
}

impl Destination {
    /// Standard output.
    pub fn stdout() -> Destination {
        Destination::Stdout(BufWriter::with_capacity(1 << 16, io::stdout()))
    }

    /// A file written atomically: a hidden temporary file in the same directory (so the rename
    /// stays on one file system), renamed on commit. `-` is standard output.
    pub fn file(path: &Path) -> io::Result<Destination> {
        if path == Path::new("-") {
            return Ok(Destination::stdout());
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
        if path.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory",
            ));
        }
        let tmp = dir.join(format!(
            ".{}.lockcheck-{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&tmp).map_err(|e| {
            // The temporary file is never the user's concern: a missing directory is.
            if e.kind() == io::ErrorKind::NotFound && !dir.is_dir() {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no such directory: {}", dir.display()),
                )
            } else {
                e
            }
        })?;
        Ok(Destination::File {
            writer: BufWriter::with_capacity(1 << 16, file),
            tmp,
            path: path.to_path_buf(),
            done: false,
            written: false,
        })
    }

    /// Flushes, and renames a file into place.
    pub fn commit(&mut self) -> io::Result<()> {
        match self {
            Destination::Stdout(w) => w.flush(),
            Destination::Quiet => Ok(()),
            Destination::File {
                writer,
                tmp,
                path,
                done,
                ..
            } => {
                writer.flush()?;
                writer.get_ref().sync_all()?;
                std::fs::rename(&*tmp, &*path)?;
                *done = true;
                Ok(())
            }
        }
    }

    /// Whether a file destination got any byte (standard output and quiet: true).
    pub fn written(&self) -> bool {
        match self {
            Destination::File { written, .. } => *written,
            _ => true,
        }
    }

    /// The file being written, for messages.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Destination::File { path, .. } => Some(path),
            _ => None,
        }
    }
}

impl Write for Destination {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Destination::Stdout(w) => w.write(buf),
            Destination::File {
                writer, written, ..
            } => {
                *written |= !buf.is_empty();
                writer.write(buf)
            }
            Destination::Quiet => Ok(buf.len()),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Destination::Stdout(w) => w.write_all(buf),
            Destination::File {
                writer, written, ..
            } => {
                *written |= !buf.is_empty();
                writer.write_all(buf)
            }
            Destination::Quiet => Ok(()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Destination::Stdout(w) => w.flush(),
            Destination::File { writer, .. } => writer.flush(),
            Destination::Quiet => Ok(()),
        }
    }
}

impl Drop for Destination {
    fn drop(&mut self) {
        if let Destination::File { tmp, done, .. } = self
            && !*done
        {
            let _ = std::fs::remove_file(&*tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lockcheck-dest-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_file_appears_only_on_commit() {
        let d = dir("commit");
        let path = d.join("out.txt");
        std::fs::write(&path, "old").unwrap();
        let mut dest = Destination::file(&path).unwrap();
        assert!(!dest.written());
        dest.write_all(b"new").unwrap();
        assert!(dest.written());
        dest.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        dest.commit().unwrap();
        drop(dest);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            std::fs::read_dir(&d).unwrap().count(),
            1,
            "no temporary left"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn an_abandoned_file_leaves_nothing() {
        let d = dir("abandon");
        let path = d.join("out.txt");
        let mut dest = Destination::file(&path).unwrap();
        dest.write_all(b"partial").unwrap();
        drop(dest);
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_directory_is_refused() {
        let d = dir("isdir");
        assert!(Destination::file(&d).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
