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
            super::format::prefetch(buf, pos + PREFETCH_DISTANCE, pos + PREFETCH_DISTANCE + 1);
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
        let mut needed = 0usize;
        loop {
            // A fresh chunk: the incomplete record carried over, then as much as the input
            // gives up to the chunk's size. (Zeroed once per chunk, not once per read.)
            let carried = self.chunk.len();
            let target = STREAM_CHUNK_LEN.max(carried + needed);
            let mut buf = vec![0u8; target];
            buf[..carried].copy_from_slice(&self.chunk);
            let mut filled = carried;
            let mut end: Option<std::io::Result<()>> = None;
            while filled < target {
                match self.src.read(&mut buf[filled..]) {
                    Ok(0) => {
                        end = Some(Ok(()));
                        break;
                    }
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        end = Some(Err(e));
                        break;
                    }
                }
            }
            buf.truncate(filled);
            // Hand out every complete record, also those read before an error.
            let shared = Arc::new(buf);
            let mut pos = self.pos;
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
            match end {
                Some(Err(e)) => {
                    return Err(Damage {
                        offset: self.base + filled as u64,
                        reason: format!("{}: read error: {e}", self.name),
                    });
                }
                Some(Ok(())) if tail.is_empty() => return Ok(()),
                Some(Ok(())) => {
                    return Err(Damage {
                        offset: self.base + pos as u64,
                        reason: format!(
                            "capture cut short: the last record needs {needed} more bytes than the input has"
                        ),
                    });
                }
                None => {
                    self.chunk = tail.to_vec();
                    self.base += pos as u64;
                    self.pos = 0;
                }
            }
        }
    }
}

/// How far ahead of the record being parsed the mapped file is prefetched into the cache. Each
/// frame's first bytes are otherwise a cache miss: frames vary in length, which defeats the
/// hardware's stride prefetcher.
pub const PREFETCH_DISTANCE: usize = 2048;

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, ErrorKind};

    const FIXTURES: [&str; 8] = [
        "loopback-tcp-udp.pcap",
        "loopback-nanosecond.pcap",
        "ipv6-tcp-udp.pcap",
        "linux-sll.pcap",
        "linux-sll2.pcap",
        "raw-ip.pcap",
        "vlan-8021q-qinq.pcap",
        "multi-interface.pcapng",
    ];

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pcap").join(name)
    }

    fn fixture_bytes(name: &str) -> Vec<u8> {
        std::fs::read(fixture(name)).unwrap()
    }

    /// A file in the temp directory, removed on drop.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str, bytes: &[u8]) -> TempFile {
            let path = std::env::temp_dir().join(format!("exwatch-source-test-{}-{name}", std::process::id()));
            std::fs::write(&path, bytes).unwrap();
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// A frame copied out of its input.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Owned {
        ts_ns: u64,
        link: u16,
        data: Vec<u8>,
        orig_len: u32,
    }

    fn owned(fr: &Frame<'_>) -> Owned {
        Owned {
            ts_ns: fr.ts_ns,
            link: fr.link_type.0,
            data: fr.data.to_vec(),
            orig_len: fr.orig_len,
        }
    }

    /// Frames of a mapped file, each with the offset of its data in the file.
    fn mapped(path: &Path) -> (Vec<(Owned, usize)>, Result<(), Damage>) {
        let m = MappedFile::open(path).unwrap();
        let bytes = m.bytes();
        let mut out = Vec::new();
        let res = m.for_each(|fr, off| {
            // zero copy: the frame is the file's bytes at `off`
            assert_eq!(fr.data.as_ptr(), bytes[off..].as_ptr());
            out.push((owned(&fr), off));
        });
        (out, res)
    }

    struct StreamRun {
        frames: Vec<Owned>,
        /// For each frame: index in `chunks`, offset of its data in that chunk.
        at: Vec<(usize, usize)>,
        /// Every chunk handed out, kept alive so that they stay distinct.
        chunks: Vec<Arc<Vec<u8>>>,
        res: Result<(), Damage>,
    }

    fn stream<R: Read>(src: R) -> StreamRun {
        let reader = StreamReader::open("test", src).unwrap();
        let mut run = StreamRun {
            frames: Vec::new(),
            at: Vec::new(),
            chunks: Vec::new(),
            res: Ok(()),
        };
        run.res = reader.for_each(|chunk, fr, off| {
            assert_eq!(
                fr.data.as_ptr(),
                chunk[off..].as_ptr(),
                "a frame is a slice of its chunk"
            );
            if !run.chunks.last().is_some_and(|c| Arc::ptr_eq(c, chunk)) {
                run.chunks.push(Arc::clone(chunk));
            }
            run.at.push((run.chunks.len() - 1, off));
            run.frames.push(owned(&fr));
        });
        run
    }

    /// The stream gave exactly the `want` frames, and each frame's data sits at the expected
    /// absolute offset of `input`: the chunk's start in the input (expected offset minus offset
    /// in the chunk) is the same for every frame of a chunk, and the chunk holds the input's
    /// bytes from there. Returns the chunk starts.
    fn assert_stream_matches(run: &StreamRun, want: &[(Owned, usize)], input: &[u8]) -> Vec<usize> {
        assert_eq!(run.frames.len(), want.len(), "frame count");
        let mut bases: Vec<Option<usize>> = vec![None; run.chunks.len()];
        for (i, ((fr, &(c, off)), (w, abs))) in run.frames.iter().zip(&run.at).zip(want).enumerate() {
            assert_eq!(fr, w, "frame {i}");
            let base = abs
                .checked_sub(off)
                .expect("offset in the chunk beyond the absolute offset");
            assert_eq!(
                *bases[c].get_or_insert(base),
                base,
                "frame {i}: its chunk's start disagrees"
            );
        }
        let bases: Vec<usize> = bases.into_iter().map(|b| b.unwrap()).collect();
        for (i, (chunk, &b)) in run.chunks.iter().zip(&bases).enumerate() {
            assert_eq!(&chunk[..], &input[b..b + chunk.len()], "chunk {i} bytes");
            if i > 0 {
                let (prev, prev_len) = (bases[i - 1], run.chunks[i - 1].len());
                assert!(b > prev && b <= prev + prev_len, "chunk {i} follows chunk {}", i - 1);
            }
        }
        bases
    }

    /// A reader that returns 1 to 7 bytes per call (and, if asked, `Interrupted` now and then).
    struct Dribble<'a> {
        data: &'a [u8],
        pos: usize,
        calls: usize,
        interrupt: bool,
    }

    impl<'a> Dribble<'a> {
        fn new(data: &'a [u8], interrupt: bool) -> Self {
            Dribble {
                data,
                pos: 0,
                calls: 0,
                interrupt,
            }
        }
    }

    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.calls += 1;
            if self.interrupt && self.calls.is_multiple_of(5) {
                return Err(std::io::Error::from(ErrorKind::Interrupted));
            }
            let n = (1 + (self.calls * 5) % 7)
                .min(buf.len())
                .min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    /// A reader that returns at most `max` bytes per call, like a pipe.
    struct Pipe<'a> {
        data: &'a [u8],
        max: usize,
    }

    impl Read for Pipe<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.max.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn stream_over_slice_and_cursor_matches_mapped_file() {
        for name in FIXTURES {
            let bytes = fixture_bytes(name);
            let (want, res) = mapped(&fixture(name));
            assert_eq!(res, Ok(()), "{name}");
            assert!(want.len() >= 14, "{name}");
            for run in [stream(&bytes[..]), stream(Cursor::new(bytes.clone()))] {
                assert_eq!(run.res, Ok(()), "{name}");
                assert_eq!(
                    assert_stream_matches(&run, &want, &bytes),
                    [0],
                    "{name}: one chunk at 0"
                );
            }
        }
    }

    #[test]
    fn stream_in_reads_of_1_to_7_bytes_matches_mapped_file() {
        for &name in &FIXTURES {
            let bytes = fixture_bytes(name);
            let (want, _) = mapped(&fixture(name));
            // with an `Interrupted` error every fifth call, which is retried
            let run = stream(Dribble::new(&bytes, true));
            assert_eq!(run.res, Ok(()), "{name}");
            assert_stream_matches(&run, &want, &bytes);
        }
    }

    #[test]
    fn cut_short_stream_reports_damage_where_the_mapped_file_does() {
        // cut-short.pcap = the first 3182 bytes of loopback-tcp-udp.pcap; the last complete
        // record ends at 3115 (records 1..32 complete)
        let bytes = fixture_bytes("cut-short.pcap");
        let (full, _) = mapped(&fixture("loopback-tcp-udp.pcap"));
        let (want, res) = mapped(&fixture("cut-short.pcap"));
        let d = res.unwrap_err();
        assert_eq!(d.offset, 3115);
        assert!(d.reason.contains("cut short"), "{}", d.reason);
        assert_eq!(want.len(), 32);
        assert_eq!(want[..], full[..32]);
        for run in [
            stream(&bytes[..]),
            stream(Cursor::new(bytes.clone())),
            stream(Dribble::new(&bytes, true)),
        ] {
            assert_stream_matches(&run, &want, &bytes);
            let sd = run.res.unwrap_err();
            assert_eq!(sd.offset, 3115);
            assert!(sd.reason.contains("cut short"), "{}", sd.reason);
        }
    }

    #[test]
    fn damaged_block_is_reported_at_the_same_offset_by_stream_and_map() {
        // multi-interface.pcapng: the first EPB of interface 1 is at 2352; give it a length
        // that is not a multiple of 4
        let mut bytes = fixture_bytes("multi-interface.pcapng");
        assert_eq!(bytes[2352..2356], 6u32.to_le_bytes());
        bytes[2356..2360].copy_from_slice(&90u32.to_le_bytes());
        let tmp = TempFile::new("damaged.pcapng", &bytes);
        let (want, res) = mapped(&tmp.0);
        assert_eq!(want.len(), 19);
        assert_eq!(res.as_ref().unwrap_err().offset, 2352);
        for run in [stream(&bytes[..]), stream(Dribble::new(&bytes, false))] {
            assert_stream_matches(&run, &want, &bytes);
            assert_eq!(run.res, res);
        }
    }

    /// A pcap of about `target` bytes: loopback-tcp-udp.pcap's records over and over, each
    /// repetition 100 s later. Returns the file and each frame with its data's offset.
    fn big_pcap(target: usize) -> (Vec<u8>, Vec<(Owned, usize)>) {
        let src = fixture_bytes("loopback-tcp-udp.pcap");
        let mut out = src[..24].to_vec();
        let mut want = Vec::new();
        let mut rep = 0u32;
        while out.len() < target {
            let mut pos = 24;
            while pos < src.len() {
                let rd = |at: usize| u32::from_le_bytes(src[at..at + 4].try_into().unwrap());
                let (sec, usec, caplen, orig) = (rd(pos) + 100 * rep, rd(pos + 4), rd(pos + 8), rd(pos + 12));
                for v in [sec, usec, caplen, orig] {
                    out.extend_from_slice(&v.to_le_bytes());
                }
                let data = &src[pos + 16..pos + 16 + caplen as usize];
                want.push((
                    Owned {
                        ts_ns: sec as u64 * 1_000_000_000 + usec as u64 * 1000,
                        link: 1,
                        data: data.to_vec(),
                        orig_len: orig,
                    },
                    out.len(),
                ));
                out.extend_from_slice(data);
                pos += 16 + caplen as usize;
            }
            rep += 1;
        }
        (out, want)
    }

    #[test]
    fn stream_of_several_chunks_matches_mapped_file() {
        let (bytes, want) = big_pcap(10 << 20);
        assert!(bytes.len() > 2 * STREAM_CHUNK_LEN);
        let tmp = TempFile::new("big.pcap", &bytes);
        let (got, res) = mapped(&tmp.0);
        assert_eq!(res, Ok(()));
        assert_eq!(got.len(), want.len());
        assert!(got == want, "mapped frames and offsets differ from the built file");
        for run in [
            stream(&bytes[..]),
            stream(Cursor::new(bytes.clone())),
            stream(Pipe {
                data: &bytes,
                max: 65_536,
            }),
        ] {
            assert_eq!(run.res, Ok(()));
            let bases = assert_stream_matches(&run, &want, &bytes);
            assert!(bases.len() >= 3, "{} chunks", bases.len());
            // a record was cut by a chunk's end and carried into the next chunk
            assert!(
                bases.windows(2).zip(&run.chunks).any(|(b, c)| b[1] < b[0] + c.len()),
                "no record spans two chunks"
            );
        }
    }

    #[test]
    fn pcapng_stream_of_several_chunks_matches_mapped_file() {
        // multi-interface.pcapng's SHB and IDBs, then its EPBs over and over, then its ISBs
        let src = fixture_bytes("multi-interface.pcapng");
        let (head, epbs, tail) = (&src[..328], &src[328..4080], &src[4080..]);
        let mut bytes = head.to_vec();
        while bytes.len() < 9 << 20 {
            bytes.extend_from_slice(epbs);
        }
        bytes.extend_from_slice(tail);
        let tmp = TempFile::new("big.pcapng", &bytes);
        let (want, res) = mapped(&tmp.0);
        assert_eq!(res, Ok(()));
        assert_eq!(want.len(), 38 * ((bytes.len() - 328 - tail.len()) / epbs.len()));
        assert_eq!(want[38].0, want[0].0);
        let run = stream(Cursor::new(bytes.clone()));
        assert_eq!(run.res, Ok(()));
        assert!(assert_stream_matches(&run, &want, &bytes).len() >= 3);
    }

    #[test]
    fn damage_past_the_first_chunk_has_its_absolute_offset() {
        let (mut bytes, want) = big_pcap(9 << 20);
        // corrupt the captured length of a record past 8 MiB
        let (_, data_at) = want.iter().find(|(_, off)| *off > 8 << 20).unwrap().clone();
        let rec = data_at - 16;
        bytes[rec + 8..rec + 12].copy_from_slice(&(super::super::format::MAX_FRAME_LEN + 1).to_le_bytes());
        let tmp = TempFile::new("big-damaged.pcap", &bytes);
        let (got, res) = mapped(&tmp.0);
        assert_eq!(res.as_ref().unwrap_err().offset, rec as u64);
        let n = want.iter().take_while(|(_, off)| *off < data_at).count();
        assert_eq!(got[..], want[..n]);
        let run = stream(Cursor::new(bytes.clone()));
        assert_stream_matches(&run, &got, &bytes);
        assert_eq!(run.res, res);
    }

    #[test]
    fn mapped_file_offsets_and_kind() {
        let m = MappedFile::open(&fixture("loopback-nanosecond.pcap")).unwrap();
        assert_eq!(m.kind(), super::super::FileKind::Pcap);
        assert_eq!(m.bytes().len(), 1709);
        let (frames, _) = mapped(&fixture("loopback-nanosecond.pcap"));
        // first record's data follows the 24-byte file header and 16-byte record header
        assert_eq!(frames[0].1, 40);
        assert_eq!(frames[1].1, 40 + 74 + 16);
        let m = MappedFile::open(&fixture("multi-interface.pcapng")).unwrap();
        assert_eq!(m.kind(), super::super::FileKind::Pcapng);
        let (frames, _) = mapped(&fixture("multi-interface.pcapng"));
        // first EPB at 328, data 28 bytes into it
        assert_eq!(frames[0].1, 356);
        assert_eq!(frames[0].0.link, 1);
        assert_eq!(frames[19].0.link, 101);
    }

    #[test]
    fn released_pages_read_back_the_same() {
        let (bytes, _) = big_pcap(1 << 20);
        let tmp = TempFile::new("release.pcap", &bytes);
        let (before, _) = mapped(&tmp.0);
        let m = MappedFile::open(&tmp.0).unwrap();
        m.release(0, bytes.len());
        m.release(5000, 100); // empty range
        m.release(0, bytes.len() + (1 << 20)); // past the end: ignored
        m.release(4095, 4097); // less than a page
        let mut after = Vec::new();
        m.for_each(|fr, off| after.push((owned(&fr), off))).unwrap();
        assert!(before == after);
    }

    #[test]
    fn open_errors() {
        let missing = fixture("no-such-file.pcap");
        match MappedFile::open(&missing) {
            Err(OpenError::Io { name, err }) => {
                assert_eq!(err.kind(), ErrorKind::NotFound);
                assert!(name.ends_with("no-such-file.pcap"));
            }
            other => panic!("{other:?}"),
        }
        match MappedFile::open(&fixture("")) {
            Err(OpenError::NotACapture { why, .. }) => assert!(why.contains("directory"), "{why}"),
            other => panic!("{other:?}"),
        }
        let empty = TempFile::new("empty", b"");
        match MappedFile::open(&empty.0) {
            Err(OpenError::NotACapture { why, .. }) => assert!(why.contains("empty"), "{why}"),
            other => panic!("{other:?}"),
        }
        let garbage = TempFile::new("garbage", b"this is not a capture file at all\n");
        match MappedFile::open(&garbage.0) {
            Err(e @ OpenError::NotACapture { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("not a pcap or pcapng file"), "{msg}");
                assert!(msg.starts_with(&garbage.0.display().to_string()), "{msg}");
            }
            other => panic!("{other:?}"),
        }
        let short = TempFile::new("short", &fixture_bytes("loopback-tcp-udp.pcap")[..10]);
        match MappedFile::open(&short.0) {
            Err(OpenError::NotACapture { why, .. }) => assert!(why.contains("too short"), "{why}"),
            other => panic!("{other:?}"),
        }
        let mut v3 = fixture_bytes("loopback-tcp-udp.pcap");
        v3[4] = 3;
        let v3 = TempFile::new("v3", &v3);
        assert!(matches!(MappedFile::open(&v3.0), Err(OpenError::NotACapture { .. })));
    }

    /// A reader that fails with `kind` once its bytes are used up.
    struct FailAfter<'a> {
        data: &'a [u8],
        kind: ErrorKind,
    }

    impl Read for FailAfter<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.data.is_empty() {
                return Err(std::io::Error::new(self.kind, "device went away"));
            }
            let n = buf.len().min(self.data.len()).min(1000);
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn stream_open_errors() {
        let name_of = |r: Result<StreamReader<&[u8]>, OpenError>| match r {
            Err(OpenError::NotACapture { why, .. }) => why,
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("opened"),
        };
        assert!(name_of(StreamReader::open("-", &b""[..])).contains("empty"));
        assert!(name_of(StreamReader::open("-", &b"GET / HTTP/1.1\r\n\r\n"[..])).contains("not a pcap"));
        let head = fixture_bytes("loopback-tcp-udp.pcap");
        assert!(name_of(StreamReader::open("-", &head[..20])).contains("too short"));
        match StreamReader::open(
            "-",
            FailAfter {
                data: &[],
                kind: ErrorKind::BrokenPipe,
            },
        ) {
            Err(OpenError::Io { name, err }) => {
                assert_eq!(name, "-");
                assert_eq!(err.kind(), ErrorKind::BrokenPipe);
            }
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("opened"),
        }
        // a header that arrives a byte at a time is still read whole
        let run = stream(Pipe {
            data: &head[..24 + 16 + 74],
            max: 1,
        });
        assert_eq!(run.res, Ok(()));
        assert_eq!(run.frames.len(), 1);
    }

    #[test]
    fn stream_header_only_and_exact_end() {
        let head = fixture_bytes("loopback-tcp-udp.pcap");
        let run = stream(&head[..24]);
        assert_eq!(run.res, Ok(()));
        assert!(run.frames.is_empty());
        let mut with_half_header = head[..24 + 74 + 16].to_vec();
        with_half_header.extend_from_slice(&head[24 + 74 + 16..24 + 74 + 16 + 8]);
        let run = stream(&with_half_header[..]);
        assert_eq!(run.frames.len(), 1);
        assert_eq!(run.res.unwrap_err().offset, 24 + 74 + 16);
    }

    #[test]
    fn read_error_keeps_the_frames_read_before_it() {
        let bytes = fixture_bytes("loopback-tcp-udp.pcap");
        let run = stream(FailAfter {
            data: &bytes,
            kind: ErrorKind::Other,
        });
        let d = run.res.as_ref().unwrap_err();
        assert!(d.reason.contains("read error"), "{}", d.reason);
        assert_eq!(d.offset, bytes.len() as u64);
        let (want, _) = mapped(&fixture("loopback-tcp-udp.pcap"));
        assert_eq!(run.frames.len(), 48, "frames read before the error were dropped");
        assert_stream_matches(&run, &want, &bytes);
    }

    #[test]
    fn input_names() {
        assert_eq!(Input::parse("-"), Input::Stdin);
        assert_eq!(Input::parse("a.pcap"), Input::File(PathBuf::from("a.pcap")));
        assert_eq!(Input::parse("-").name(), "-");
        assert_eq!(Input::parse("dir/a.pcapng").name(), "dir/a.pcapng");
    }
}
