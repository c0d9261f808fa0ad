//! Where records go: stdout, or a file a live sensor appends to and reopens when asked
//! (SIGHUP from logrotate: the old file was renamed away, records go on in a new one at the
//! configured path).
//!
//! The reopen happens in [`Sink::flush`], after everything buffered went to the old file, so
//! no record is split between two files and none is lost. The writer flushes after every tick
//! of a live capture (at least once a second), so a rotation takes effect within a second.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The output of a run.
pub struct Sink {
    inner: Inner,
    /// Set (by a signal handler) when the file should be reopened.
    reopen: Option<&'static AtomicBool>,
}

enum Inner {
    Stdout(io::Stdout),
    File(File, PathBuf),
}

impl Sink {
    pub fn stdout() -> Sink {
        Sink {
            inner: Inner::Stdout(io::stdout()),
            reopen: None,
        }
    }

    /// Open `path` for appending (created when missing: mode 0640 before the umask); when
    /// `reopen` is set, [`Sink::flush`] clears it and opens the path anew.
    pub fn append(path: &Path, reopen: Option<&'static AtomicBool>) -> io::Result<Sink> {
        Ok(Sink {
            inner: Inner::File(open_append(path)?, path.to_path_buf()),
            reopen,
        })
    }

    /// Reopen the file now if asked to. A failure (the directory is gone, or not writable by
    /// the user the sensor runs as) keeps the old file and says so on stderr once.
    fn maybe_reopen(&mut self) {
        let Some(flag) = self.reopen else { return };
        if !flag.swap(false, Ordering::SeqCst) {
            return;
        }
        if let Inner::File(f, path) = &mut self.inner {
            match open_append(path) {
                Ok(new) => *f = new,
                Err(e) => eprintln!(
                    "exwatch: reopening {}: {e} (records go on to the file already open)",
                    path.display()
                ),
            }
        }
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o640);
    o.open(path)
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Stdout(s) => s.write(buf),
            Inner::File(f, _) => f.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.inner {
            Inner::Stdout(s) => s.write_all(buf),
            Inner::File(f, _) => f.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Stdout(s) => s.flush()?,
            Inner::File(f, _) => f.flush()?,
        }
        self.maybe_reopen();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static FLAG: AtomicBool = AtomicBool::new(false);

    #[test]
    fn appends_and_reopens_after_a_rename() {
        let dir = std::env::temp_dir().join(format!("exwatch-sink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.jsonl");
        std::fs::write(&path, b"earlier run\n").unwrap();
        let mut s = Sink::append(&path, Some(&FLAG)).unwrap();
        s.write_all(b"one\n").unwrap();
        s.flush().unwrap();
        // logrotate: rename, then SIGHUP
        let rotated = dir.join("out.jsonl.1");
        std::fs::rename(&path, &rotated).unwrap();
        s.write_all(b"two\n").unwrap();
        FLAG.store(true, Ordering::SeqCst);
        s.flush().unwrap();
        assert!(!FLAG.load(Ordering::SeqCst), "the flag is taken");
        s.write_all(b"three\n").unwrap();
        s.flush().unwrap();
        // what was written before the flush that reopened stays with the old file
        assert_eq!(std::fs::read_to_string(&rotated).unwrap(), "earlier run\none\ntwo\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three\n");
        // a path that cannot be opened any more (a directory now stands there) keeps the
        // file already open: nothing is lost
        let moved = dir.join("out.jsonl.2");
        std::fs::rename(&path, &moved).unwrap();
        std::fs::create_dir(&path).unwrap();
        FLAG.store(true, Ordering::SeqCst);
        s.flush().unwrap();
        s.write_all(b"four\n").unwrap();
        s.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&moved).unwrap(), "three\nfour\n");
        assert!(path.is_dir());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
