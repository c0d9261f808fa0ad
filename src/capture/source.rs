//! Capture inputs: a file mapped into memory (frames are slices of the map), or a byte stream
//! (stdin) read into owned chunks that the pipeline shares by reference count.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use super::Frame;
use super::format::{CaptureParser, DETECT_LEN, Damage, Detect, Next};

/// How far ahead of the reader the pages of a mapped file are populated (`MADV_POPULATE_READ`).
pub const POPULATE_AHEAD_BYTES: usize = 8 * 1024 * 1024;
/// Bytes read from a stream at a time (a chunk grows for a record larger than this).
pub const STREAM_CHUNK_LEN: usize = 4 * 1024 * 1024;

/// One input named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    File(PathBuf),
    Stdin,
}

impl Input {
    pub fn parse(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::File(PathBuf::from(arg))
        }
    }
    pub fn name(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Stdin => "-".into(),
        }
    }
}

/// Nothing could be read from an input.
#[derive(Debug)]
pub enum OpenError {
    Io { name: String, err: std::io::Error },
    NotACapture { name: String, why: String },
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Io { name, err } => write!(f, "{name}: {err}"),
            OpenError::NotACapture { name, why } => write!(f, "{name}: {why}"),
        }
    }
}

/// A capture file mapped read-only into memory.
#[derive(Debug)]
pub struct MappedFile {
    map: Mmap,
    parser: CaptureParser,
    header_len: usize,
}

impl MappedFile {
    pub fn open(path: &Path) -> Result<MappedFile, OpenError> {
        let name = path.display().to_string();
        let io = |err| OpenError::Io {
            name: name.clone(),
            err,
        };
        let file = File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if meta.is_dir() {
            return Err(OpenError::NotACapture {
                name,
                why: "is a directory".into(),
            });
        }
        if meta.len() == 0 {
            return Err(OpenError::NotACapture {
                name,
                why: "empty file, not a capture".into(),
            });
        }
        // SAFETY: the map is read-only and private. If another process truncates the file while
        // we read it, accesses past the new end raise SIGBUS; that is the documented risk of
        // reading a capture that is being rewritten, the same one tcpdump -r on a mapped file has.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        match CaptureParser::detect(&map[..map.len().min(DETECT_LEN)]) {
            Detect::Capture { parser, header_len } => Ok(MappedFile {
                map,
                parser,
                header_len,
            }),
            Detect::NeedMore => Err(OpenError::NotACapture {
                name,
                why: format!("too short for a capture file header ({} bytes)", map.len()),
            }),
            Detect::NotACapture(why) => Err(OpenError::NotACapture { name, why }),
        }
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    pub fn kind(&self) -> super::FileKind {
        self.parser.kind()
    }

    /// Calls `f` with each frame and the offset of its data in the file, in file order. Stops
    /// at the first damage and returns it: a record cut short, or a record that cannot be one.
    pub fn for_each<'a>(&'a self, mut f: impl FnMut(Frame<'a>, usize)) -> Result<(), Damage> {
        let mut parser = self.parser.clone();
        let buf: &'a [u8] = &self.map;
        let mut pos = self.header_len;
        let mut populated = 0usize;
        loop {
            if pos + POPULATE_AHEAD_BYTES / 2 > populated && populated < buf.len() {
                // Map the next window's pages in one call instead of one fault per page.
                let len = POPULATE_AHEAD_BYTES.min(buf.len() - populated);
                let _ = self.map.advise_range(memmap2::Advice::PopulateRead, populated, len);
                populated += len;
            }
            prefetch(buf, pos + PREFETCH_DISTANCE);
            match parser.next(buf, &mut pos, 0) {
                Next::Frame(fr) => {
                    let off = fr.data.as_ptr() as usize - buf.as_ptr() as usize;
                    f(fr, off);
                }
                Next::NeedMore { needed } => {
                    if pos == buf.len() {
                        return Ok(());
                    }
                    return Err(Damage {
                        offset: pos as u64,
                        reason: format!(
                            "capture cut short: the last record needs {needed} more bytes than the file has"
                        ),
                    });
                }
                Next::Damaged(d) => return Err(d),
            }
        }
    }

    /// Tell the kernel the pages in `start..end` will not be read again, so they leave this
    /// process's resident set (the page cache keeps them). A later read would fault them back
    /// in from the file, so this is never unsound, only slower if misused.
    pub fn release(&self, start: usize, end: usize) {
        let page = 4096;
        let s = start.div_ceil(page) * page;
        let e = (end / page) * page;
        if e > s && e <= self.map.len() {
            // SAFETY: MADV_DONTNEED on a read-only private file mapping drops the pages from
            // this mapping; they are re-read from the file on the next access. No Rust reference
            // observes different bytes afterwards, since the file's bytes are unchanged.
            let _ = unsafe {
                self.map
                    .unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, s, e - s)
            };
        }
    }
}

/// A capture read from a byte stream (stdin) into owned chunks.
pub struct StreamReader<R: Read> {
    name: String,
    src: R,
    parser: CaptureParser,
    chunk: Vec<u8>,
    /// Absolute offset of `chunk[0]`.
    base: u64,
    pos: usize,
}

impl<R: Read> StreamReader<R> {
    /// Read the file header; fails when the stream is not a capture.
    pub fn open(name: &str, mut src: R) -> Result<StreamReader<R>, OpenError> {
        let mut chunk = Vec::with_capacity(STREAM_CHUNK_LEN);
        let io = |err| OpenError::Io {
            name: name.to_string(),
            err,
        };
        // read until the header is complete or the input ends
        let mut eof = false;
        while chunk.len() < DETECT_LEN && !eof {
            let want = DETECT_LEN - chunk.len();
            eof = read_some(&mut src, &mut chunk, want).map_err(io)? == 0;
        }
        match CaptureParser::detect(&chunk) {
            Detect::Capture { parser, header_len } => Ok(StreamReader {
                name: name.to_string(),
                src,
                parser,
                chunk,
                base: 0,
                pos: header_len,
            }),
            Detect::NotACapture(why) => Err(OpenError::NotACapture {
                name: name.to_string(),
                why,
            }),
            Detect::NeedMore => Err(OpenError::NotACapture {
                name: name.to_string(),
                why: format!("too short for a capture file header ({} bytes)", chunk.len()),
            }),
        }
    }

    /// Calls `f` with each frame, the shared chunk that holds it and the data's offset in the
    /// chunk. Each chunk is handed out behind an `Arc`; it is freed when the last user drops it.
    pub fn for_each(mut self, mut f: impl FnMut(&Arc<Vec<u8>>, Frame<'_>, usize)) -> Result<(), Damage> {
        loop {
            // Fill the chunk, then hand out every complete record in it.
            let target = self.chunk.capacity().max(STREAM_CHUNK_LEN);
            let mut eof = false;
            while self.chunk.len() < target {
                let want = target - self.chunk.len();
                let n = read_some(&mut self.src, &mut self.chunk, want).map_err(|e| Damage {
                    offset: self.base + self.chunk.len() as u64,
                    reason: format!("{}: read error: {e}", self.name),
                })?;
                if n == 0 {
                    eof = true;
                    break;
                }
            }
            let shared = Arc::new(std::mem::take(&mut self.chunk));
            let mut pos = self.pos;
            let needed;
            loop {
                match self.parser.next(&shared, &mut pos, self.base) {
                    Next::Frame(fr) => {
                        let off = fr.data.as_ptr() as usize - shared.as_ptr() as usize;
                        f(&shared, fr, off);
                    }
                    Next::NeedMore { needed: n } => {
                        needed = n;
                        break;
                    }
                    Next::Damaged(d) => return Err(d),
                }
            }
            let tail = &shared[pos..];
            if eof {
                if tail.is_empty() {
                    return Ok(());
                }
                return Err(Damage {
                    offset: self.base + pos as u64,
                    reason: format!("capture cut short: the last record needs {needed} more bytes than the input has"),
                });
            }
            // Carry the incomplete record into a fresh chunk.
            let mut next = Vec::with_capacity(STREAM_CHUNK_LEN.max(tail.len() + needed));
            next.extend_from_slice(tail);
            self.base += pos as u64;
            self.pos = 0;
            self.chunk = next;
        }
    }
}

/// How far ahead of the record being parsed the mapped file is prefetched into the cache. Each
/// frame's first bytes are otherwise a cache miss: frames vary in length, which defeats the
/// hardware's stride prefetcher.
pub const PREFETCH_DISTANCE: usize = 2048;

/// Hint the CPU to load the cache line at `buf[at]` (no-op past the end or off x86-64).
#[inline(always)]
fn prefetch(buf: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(b) = buf.get(at) {
        // SAFETY: a prefetch is a hint that never faults; the pointer is in bounds anyway.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(b as *const u8 as *const i8) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (buf, at);
}

/// Read up to `want` more bytes into `buf`, retrying on EINTR. Returns the count (0 at EOF).
fn read_some<R: Read>(src: &mut R, buf: &mut Vec<u8>, want: usize) -> std::io::Result<usize> {
    let old = buf.len();
    buf.resize(old + want, 0);
    let res = loop {
        match src.read(&mut buf[old..]) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => break other,
        }
    };
    match res {
        Ok(n) => {
            buf.truncate(old + n);
            Ok(n)
        }
        Err(e) => {
            buf.truncate(old);
            Err(e)
        }
    }
}
