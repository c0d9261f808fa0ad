//! Capture file formats: classic pcap and pcapng, parsed record by record over a byte buffer.
//!
//! The parser is a resumable state machine over `&[u8]`: [`CaptureParser::next`] looks at the
//! bytes from a position, and returns a frame borrowed from the buffer, asks for more bytes, or
//! says the file is damaged at an absolute byte offset. A memory-mapped file hands it the whole
//! file; stdin hands it successive buffers (see `source.rs`).
//!
//! Specs:
//! - classic pcap: draft-ietf-opsawg-pcap (file header §4, packet record §5); magic 0xA1B2C3D4
//!   (µs) and 0xA1B23C4D (ns), in either byte order; link type in the low 16 bits of LinkType.
//! - pcapng: draft-ietf-opsawg-pcapng (SHB §4.1, IDB §4.2, EPB §4.3, SPB §4.4, obsolete PB
//!   Appendix A); `if_tsresol` (§4.2, option 9) and `if_tsoffset` (option 14). Blocks of unknown
//!   type are skipped by their length. A new SHB starts a new section (interfaces reset, byte
//!   order may change).

use super::{Frame, LinkType};

/// The largest captured length of one frame we accept (the libpcap/tshark limit,
/// `MAXIMUM_SNAPLEN`). A record claiming more is taken as damage, not as a frame.
pub const MAX_FRAME_LEN: u32 = 262_144;
/// The largest pcapng block we accept (a block holds at most one frame plus options).
pub const MAX_BLOCK_LEN: u32 = 16 * 1024 * 1024;
/// Interfaces per pcapng section we track; more is taken as damage.
pub const MAX_INTERFACES: usize = 1024;
/// Classic pcap file header length.
pub const PCAP_HEADER_LEN: usize = 24;
/// Classic pcap record header length.
pub const PCAP_RECORD_LEN: usize = 16;

const PCAP_MAGIC_US: u32 = 0xA1B2_C3D4;
const PCAP_MAGIC_NS: u32 = 0xA1B2_3C4D;
const PCAPNG_SHB: u32 = 0x0A0D_0D0A;
const PCAPNG_BOM: u32 = 0x1A2B_3C4D;
const PCAPNG_IDB: u32 = 0x0000_0001;
const PCAPNG_PB: u32 = 0x0000_0002;
const PCAPNG_SPB: u32 = 0x0000_0003;
const PCAPNG_EPB: u32 = 0x0000_0006;

/// Which container the bytes are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Pcap,
    Pcapng,
}

/// Why a capture stopped early. The offset is absolute (from the start of the input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub offset: u64,
    pub reason: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte offset {}", self.reason, self.offset)
    }
}

/// One step of the parser.
#[derive(Debug)]
pub enum Next<'a> {
    /// A frame; the position moved past its record.
    Frame(Frame<'a>),
    /// The record at the position is not complete in the buffer. On a file this is a capture
    /// cut short; on a stream, read more and call again with the rest.
    NeedMore { needed: usize },
    /// The bytes at the position are not a valid record.
    Damaged(Damage),
}

#[derive(Debug, Clone, Copy)]
struct Iface {
    link_type: LinkType,
    snaplen: u32,
    /// Timestamp units per second are 10^exp (decimal) or 2^exp (binary).
    tsresol: TsResol,
    /// Seconds added to every timestamp (`if_tsoffset`).
    tsoffset_s: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TsResol {
    Dec(u8),
    Bin(u8),
}

impl TsResol {
    /// Convert a timestamp in these units to nanoseconds.
    fn to_ns(self, units: u64) -> u64 {
        match self {
            TsResol::Dec(e) if e <= 9 => units.saturating_mul(10u64.pow(9 - e as u32)),
            TsResol::Dec(e) => units / 10u64.saturating_pow(e as u32 - 9),
            TsResol::Bin(e) => {
                let ns = (units as u128 * 1_000_000_000u128) >> e.min(127);
                ns.min(u64::MAX as u128) as u64
            }
        }
    }
}

/// Resumable parser for one capture input.
#[derive(Debug, Clone)]
pub struct CaptureParser {
    kind: FileKind,
    big_endian: bool,
    // classic pcap
    pcap_link: LinkType,
    pcap_nanos: bool,
    // pcapng: interfaces of the current section
    ifaces: Vec<Iface>,
}

/// Bytes needed to tell the format and parse the file header.
pub const DETECT_LEN: usize = PCAP_HEADER_LEN;

/// What the first bytes of an input say.
#[derive(Debug)]
pub enum Detect {
    /// A capture; the parser starts after `header_len` bytes (0 for pcapng: its SHB is a block).
    Capture {
        parser: CaptureParser,
        header_len: usize,
    },
    NeedMore,
    NotACapture(String),
}

fn rd32(b: &[u8], be: bool) -> u32 {
    let a = [b[0], b[1], b[2], b[3]];
    if be {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

fn rd16(b: &[u8], be: bool) -> u16 {
    let a = [b[0], b[1]];
    if be {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    }
}

/// How far ahead of the record being parsed the reader asks the CPU to bring the file's bytes
/// into cache. Record headers sit at irregular strides that the hardware prefetcher does not
/// follow: without this, the first load of each header waited on memory (90% of the reader's
/// time on mix.pcap, 43% of a `--threads 1` run).
const PREFETCH_AHEAD_BYTES: usize = 4096;
const CACHE_LINE: usize = 64;

/// Hint the cache lines that lie `PREFETCH_AHEAD_BYTES` past the record `[from, to)`.
#[inline(always)]
fn prefetch_ahead(buf: &[u8], from: usize, to: usize) {
    prefetch(buf, from + PREFETCH_AHEAD_BYTES, to + PREFETCH_AHEAD_BYTES);
}

/// Hint the CPU to load the cache lines of `buf[from..to]` (no-op past the end or off x86-64;
/// a prefetch never faults).
#[inline(always)]
pub fn prefetch(buf: &[u8], from: usize, to: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let end = to.min(buf.len());
        let mut at = from & !(CACHE_LINE - 1);
        while at < end {
            // SAFETY: `at < buf.len()`; a prefetch never faults and changes no state.
            unsafe {
                core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                    buf.as_ptr().add(at) as *const i8
                )
            };
            at += CACHE_LINE;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (buf, from, to);
}

impl CaptureParser {
    /// Look at the start of an input and build the parser for it.
    pub fn detect(head: &[u8]) -> Detect {
        if head.len() < 4 {
            return if head.is_empty() {
                Detect::NotACapture("empty input".into())
            } else {
                Detect::NeedMore
            };
        }
        let le = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let be = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let pcap = match (le, be) {
            (PCAP_MAGIC_US, _) => Some((false, false)),
            (PCAP_MAGIC_NS, _) => Some((false, true)),
            (_, PCAP_MAGIC_US) => Some((true, false)),
            (_, PCAP_MAGIC_NS) => Some((true, true)),
            _ => None,
        };
        if let Some((big_endian, nanos)) = pcap {
            if head.len() < PCAP_HEADER_LEN {
                return Detect::NeedMore;
            }
            // pcap §4: magic, major, minor, reserved1, reserved2, snaplen, linktype
            let major = rd16(&head[4..], big_endian);
            if major != 2 {
                return Detect::NotACapture(format!("pcap version {major} is not supported"));
            }
            let link = rd32(&head[20..], big_endian) & 0xFFFF;
            return Detect::Capture {
                parser: CaptureParser {
                    kind: FileKind::Pcap,
                    big_endian,
                    pcap_link: LinkType(link as u16),
                    pcap_nanos: nanos,
                    ifaces: Vec::new(),
                },
                header_len: PCAP_HEADER_LEN,
            };
        }
        if le == PCAPNG_SHB {
            if head.len() < 12 {
                return Detect::NeedMore;
            }
            let bom_le = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
            let bom_be = u32::from_be_bytes([head[8], head[9], head[10], head[11]]);
            let big_endian = if bom_le == PCAPNG_BOM {
                false
            } else if bom_be == PCAPNG_BOM {
                true
            } else {
                return Detect::NotACapture("pcapng section header with a bad byte-order magic".into());
            };
            return Detect::Capture {
                parser: CaptureParser {
                    kind: FileKind::Pcapng,
                    big_endian,
                    pcap_link: LinkType(0),
                    pcap_nanos: false,
                    ifaces: Vec::new(),
                },
                header_len: 0,
            };
        }
        Detect::NotACapture(format!(
            "not a pcap or pcapng file (first bytes {:02x} {:02x} {:02x} {:02x})",
            head[0], head[1], head[2], head[3]
        ))
    }

    pub fn kind(&self) -> FileKind {
        self.kind
    }

    /// Parse the next record at `buf[*pos..]`. `base` is the absolute offset of `buf[0]`, used
    /// in damage reports. On `Frame`, `*pos` moves past the record; otherwise it stays.
    pub fn next<'a>(&mut self, buf: &'a [u8], pos: &mut usize, base: u64) -> Next<'a> {
        match self.kind {
            FileKind::Pcap => self.next_pcap(buf, pos, base),
            FileKind::Pcapng => loop {
                match self.next_pcapng_block(buf, pos, base) {
                    Some(n) => return n,
                    None => continue, // a block that is not a frame: go on
                }
            },
        }
    }

    /// pcap §5: ts_sec u32, ts_frac u32, caplen u32, origlen u32, then caplen bytes.
    fn next_pcap<'a>(&self, buf: &'a [u8], pos: &mut usize, base: u64) -> Next<'a> {
        let rest = &buf[*pos..];
        if rest.len() < PCAP_RECORD_LEN {
            return Next::NeedMore {
                needed: PCAP_RECORD_LEN - rest.len(),
            };
        }
        let be = self.big_endian;
        let sec = rd32(rest, be) as u64;
        let frac = rd32(&rest[4..], be) as u64;
        let caplen = rd32(&rest[8..], be);
        let origlen = rd32(&rest[12..], be);
        if caplen > MAX_FRAME_LEN {
            return Next::Damaged(Damage {
                offset: base + *pos as u64,
                reason: format!("pcap record claims a {caplen}-byte frame (limit {MAX_FRAME_LEN})"),
            });
        }
        let frac_ns = if self.pcap_nanos {
            frac
        } else {
            frac.saturating_mul(1000)
        };
        if frac_ns >= 1_000_000_000 {
            return Next::Damaged(Damage {
                offset: base + *pos as u64,
                reason: format!("pcap record has an impossible sub-second timestamp {frac}"),
            });
        }
        let end = PCAP_RECORD_LEN + caplen as usize;
        if rest.len() < end {
            return Next::NeedMore {
                needed: end - rest.len(),
            };
        }
        let data = &rest[PCAP_RECORD_LEN..end];
        prefetch_ahead(buf, *pos, *pos + end);
        *pos += end;
        Next::Frame(Frame {
            ts_ns: sec * 1_000_000_000 + frac_ns,
            link_type: self.pcap_link,
            data,
            orig_len: origlen.max(caplen),
        })
    }

    /// One pcapng block. `None` when the block was consumed and was not a frame.
    fn next_pcapng_block<'a>(&mut self, buf: &'a [u8], pos: &mut usize, base: u64) -> Option<Next<'a>> {
        let rest = &buf[*pos..];
        let off = base + *pos as u64;
        if rest.len() < 12 {
            return Some(Next::NeedMore {
                needed: 12 - rest.len(),
            });
        }
        let damaged = |reason: String| Some(Next::Damaged(Damage { offset: off, reason }));
        let raw_type = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        if raw_type == PCAPNG_SHB {
            // §4.1: the byte-order magic tells this section's byte order.
            let bom_le = u32::from_le_bytes([rest[8], rest[9], rest[10], rest[11]]);
            let bom_be = u32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]);
            self.big_endian = if bom_le == PCAPNG_BOM {
                false
            } else if bom_be == PCAPNG_BOM {
                true
            } else {
                return damaged("pcapng section header with a bad byte-order magic".into());
            };
        }
        let be = self.big_endian;
        let btype = rd32(rest, be);
        let blen = rd32(&rest[4..], be);
        if blen < 12 || !blen.is_multiple_of(4) || blen > MAX_BLOCK_LEN {
            return damaged(format!("pcapng block of type {btype:#x} has a bad length {blen}"));
        }
        let blen = blen as usize;
        if rest.len() < blen {
            return Some(Next::NeedMore {
                needed: blen - rest.len(),
            });
        }
        if rd32(&rest[blen - 4..], be) as usize != blen {
            return damaged(format!(
                "pcapng block of type {btype:#x}: trailing length does not match {blen}"
            ));
        }
        let body = &rest[8..blen - 4];
        let out = match btype {
            PCAPNG_SHB => {
                if body.len() < 16 {
                    return damaged("pcapng section header too short".into());
                }
                self.ifaces.clear();
                None
            }
            PCAPNG_IDB => {
                // §4.2: LinkType u16, Reserved u16, SnapLen u32, options
                if body.len() < 8 {
                    return damaged("pcapng interface description too short".into());
                }
                if self.ifaces.len() >= MAX_INTERFACES {
                    return damaged(format!("more than {MAX_INTERFACES} pcapng interfaces"));
                }
                let mut iface = Iface {
                    link_type: LinkType(rd16(body, be)),
                    snaplen: rd32(&body[4..], be),
                    tsresol: TsResol::Dec(6),
                    tsoffset_s: 0,
                };
                for (code, val) in Options::new(&body[8..], be) {
                    match (code, val.len()) {
                        // if_tsresol: MSB 0 = power of 10, 1 = power of 2
                        (9, 1) => {
                            let v = val[0];
                            iface.tsresol = if v & 0x80 == 0 {
                                TsResol::Dec(v)
                            } else {
                                TsResol::Bin(v & 0x7F)
                            };
                        }
                        // if_tsoffset: seconds, signed 64-bit
                        (14, 8) => {
                            let a: [u8; 8] = val.try_into().unwrap_or([0; 8]);
                            iface.tsoffset_s = if be {
                                i64::from_be_bytes(a)
                            } else {
                                i64::from_le_bytes(a)
                            };
                        }
                        _ => {}
                    }
                }
                self.ifaces.push(iface);
                None
            }
            PCAPNG_EPB | PCAPNG_PB => {
                // §4.3 EPB: Interface ID u32, Timestamp high u32, low u32, Captured len u32,
                // Original len u32, data padded to 32 bits, options.
                // Appendix A PB: Interface ID u16, Drops count u16, then the same.
                if body.len() < 20 {
                    return damaged("pcapng packet block too short".into());
                }
                let iface_id = if btype == PCAPNG_EPB {
                    rd32(body, be) as usize
                } else {
                    rd16(body, be) as usize
                };
                let Some(iface) = self.ifaces.get(iface_id).copied() else {
                    return damaged(format!(
                        "pcapng packet block names interface {iface_id}, which was not described"
                    ));
                };
                let ts = ((rd32(&body[4..], be) as u64) << 32) | rd32(&body[8..], be) as u64;
                let caplen = rd32(&body[12..], be);
                let origlen = rd32(&body[16..], be);
                if caplen > MAX_FRAME_LEN || caplen as usize > body.len() - 20 {
                    return damaged(format!("pcapng packet block claims a {caplen}-byte frame"));
                }
                let data = &body[20..20 + caplen as usize];
                Some(Next::Frame(Frame {
                    ts_ns: iface_ts(iface, ts),
                    link_type: iface.link_type,
                    data,
                    orig_len: origlen.max(caplen),
                }))
            }
            PCAPNG_SPB => {
                // §4.4: Original len u32, data; captured = min(orig, snaplen, block room);
                // no timestamp (we give 0 and let the flow layer use the last known time).
                if body.len() < 4 {
                    return damaged("pcapng simple packet block too short".into());
                }
                let Some(iface) = self.ifaces.first().copied() else {
                    return damaged("pcapng simple packet block before any interface".into());
                };
                let origlen = rd32(body, be);
                let mut caplen = (body.len() - 4).min(origlen as usize);
                if iface.snaplen != 0 {
                    caplen = caplen.min(iface.snaplen as usize);
                }
                if caplen > MAX_FRAME_LEN as usize {
                    return damaged(format!("pcapng simple packet block claims a {caplen}-byte frame"));
                }
                Some(Next::Frame(Frame {
                    ts_ns: 0,
                    link_type: iface.link_type,
                    data: &body[4..4 + caplen],
                    orig_len: origlen.max(caplen as u32),
                }))
            }
            _ => None, // §3.1: unknown block types are skipped
        };
        *pos += blen;
        out
    }
}

fn iface_ts(iface: Iface, units: u64) -> u64 {
    let ns = iface.tsresol.to_ns(units);
    let off = iface.tsoffset_s.saturating_mul(1_000_000_000);
    if off >= 0 {
        ns.saturating_add(off as u64)
    } else {
        ns.saturating_sub(off.unsigned_abs())
    }
}

/// pcapng §3.5 options: code u16, length u16, value padded to 32 bits; code 0 ends the list.
struct Options<'a> {
    rest: &'a [u8],
    be: bool,
}

impl<'a> Options<'a> {
    fn new(rest: &'a [u8], be: bool) -> Self {
        Options { rest, be }
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = (u16, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.len() < 4 {
            return None;
        }
        let code = rd16(self.rest, self.be);
        let len = rd16(&self.rest[2..], self.be) as usize;
        if code == 0 || self.rest.len() < 4 + len {
            return None;
        }
        let val = &self.rest[4..4 + len];
        let padded = (4 + len + 3) & !3;
        self.rest = self.rest.get(padded..).unwrap_or(&[]);
        Some((code, val))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real captures (see fixtures/README.md); expected values below come from tshark 4.0.17.
    const LOOPBACK_NS: &[u8] = include_bytes!("../../fixtures/pcap/loopback-nanosecond.pcap");
    const LOOPBACK_US: &[u8] = include_bytes!("../../fixtures/pcap/loopback-tcp-udp.pcap");
    const MULTI_IF: &[u8] = include_bytes!("../../fixtures/pcap/multi-interface.pcapng");

    /// A frame in comparable form.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct F<'a> {
        ts_ns: u64,
        link: u16,
        data: &'a [u8],
        orig_len: u32,
    }

    fn f<'a>(fr: &Frame<'a>) -> F<'a> {
        F {
            ts_ns: fr.ts_ns,
            link: fr.link_type.0,
            data: fr.data,
            orig_len: fr.orig_len,
        }
    }

    /// How a run over a buffer stopped.
    #[derive(Debug, PartialEq, Eq)]
    enum End {
        NotACapture(String),
        DetectNeedMore,
        NeedMore { pos: usize, needed: usize },
        Damaged(Damage),
    }

    struct Run<'a> {
        kind: Option<FileKind>,
        header_len: usize,
        frames: Vec<F<'a>>,
        /// Parser position after each frame.
        ends: Vec<usize>,
        end: End,
    }

    /// detect, then `next` until it returns something other than a frame.
    fn run(bytes: &[u8]) -> Run<'_> {
        run_base(bytes, 0)
    }

    fn run_base(bytes: &[u8], base: u64) -> Run<'_> {
        let mut r = Run {
            kind: None,
            header_len: 0,
            frames: Vec::new(),
            ends: Vec::new(),
            end: End::DetectNeedMore,
        };
        let (mut parser, mut pos) = match CaptureParser::detect(&bytes[..bytes.len().min(DETECT_LEN)]) {
            Detect::Capture { parser, header_len } => (parser, header_len),
            Detect::NeedMore => return r,
            Detect::NotACapture(why) => {
                r.end = End::NotACapture(why);
                return r;
            }
        };
        r.kind = Some(parser.kind());
        r.header_len = pos;
        loop {
            let before = pos;
            match parser.next(bytes, &mut pos, base) {
                Next::Frame(fr) => {
                    assert!(pos > before, "a frame must move the position");
                    // zero copy: the frame is a slice of the input
                    let start = fr.data.as_ptr() as usize - bytes.as_ptr() as usize;
                    assert!(start >= before && start + fr.data.len() <= pos);
                    r.frames.push(f(&fr));
                    r.ends.push(pos);
                }
                Next::NeedMore { needed } => {
                    r.end = End::NeedMore { pos, needed };
                    return r;
                }
                Next::Damaged(d) => {
                    // the position stays on the damaged record (it may have skipped
                    // non-frame blocks before it)
                    assert!(d.offset >= base + before as u64);
                    assert_eq!(d.offset, base + pos as u64, "damage offset is the position");
                    r.end = End::Damaged(d);
                    return r;
                }
            }
        }
    }

    fn assert_clean_end(r: &Run<'_>, len: usize) {
        let needed = match r.kind {
            Some(FileKind::Pcap) => PCAP_RECORD_LEN,
            _ => 12,
        };
        assert_eq!(
            r.end,
            End::NeedMore { pos: len, needed },
            "the input must end on a record boundary"
        );
    }

    fn damage(r: &Run<'_>) -> Damage {
        match &r.end {
            End::Damaged(d) => d.clone(),
            other => panic!("expected damage, got {other:?}"),
        }
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(37).wrapping_add(seed))
            .collect()
    }

    fn put16(v: &mut Vec<u8>, x: u16, be: bool) {
        v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() });
    }

    fn put32(v: &mut Vec<u8>, x: u32, be: bool) {
        v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() });
    }

    // ---------------------------------------------------------------- classic pcap builders

    /// pcap file header (§4): magic, major 2, minor 4, thiszone, sigfigs, snaplen, linktype.
    fn pcap_header(be: bool, nanos: bool, major: u16, link: u32) -> Vec<u8> {
        let mut v = Vec::new();
        put32(&mut v, if nanos { 0xA1B2_3C4D } else { 0xA1B2_C3D4 }, be);
        put16(&mut v, major, be);
        put16(&mut v, 4, be);
        put32(&mut v, 0, be);
        put32(&mut v, 0, be);
        put32(&mut v, 262_144, be);
        put32(&mut v, link, be);
        assert_eq!(v.len(), PCAP_HEADER_LEN);
        v
    }

    /// pcap record (§5) with an explicit captured length (data may be shorter to build damage).
    fn pcap_record_raw(v: &mut Vec<u8>, be: bool, sec: u32, frac: u32, caplen: u32, orig: u32, data: &[u8]) {
        put32(v, sec, be);
        put32(v, frac, be);
        put32(v, caplen, be);
        put32(v, orig, be);
        v.extend_from_slice(data);
    }

    fn pcap_record(v: &mut Vec<u8>, be: bool, sec: u32, frac: u32, orig: u32, data: &[u8]) {
        pcap_record_raw(v, be, sec, frac, data.len() as u32, orig, data);
    }

    /// A pcap file: records are (ts_sec, ts_frac, data, orig_len).
    fn pcap_file(be: bool, nanos: bool, link: u32, recs: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
        let mut v = pcap_header(be, nanos, 2, link);
        for &(sec, frac, data, orig) in recs {
            pcap_record(&mut v, be, sec, frac, orig, data);
        }
        v
    }

    /// Byte-swap a little-endian classic pcap's file header and every record header.
    fn swap_pcap(le: &[u8]) -> Vec<u8> {
        let mut b = le.to_vec();
        for (at, n) in [(0, 4), (4, 2), (6, 2), (8, 4), (12, 4), (16, 4), (20, 4)] {
            b[at..at + n].reverse();
        }
        let mut pos = PCAP_HEADER_LEN;
        while pos + PCAP_RECORD_LEN <= b.len() {
            let caplen = u32::from_le_bytes(le[pos + 8..pos + 12].try_into().unwrap()) as usize;
            for i in 0..4 {
                b[pos + 4 * i..pos + 4 * i + 4].reverse();
            }
            pos += PCAP_RECORD_LEN + caplen;
        }
        b
    }

    /// Record boundaries of a well-formed little-endian pcap, computed without the parser.
    fn pcap_boundaries(le: &[u8]) -> Vec<usize> {
        let mut out = vec![PCAP_HEADER_LEN];
        let mut pos = PCAP_HEADER_LEN;
        while pos < le.len() {
            let caplen = u32::from_le_bytes(le[pos + 8..pos + 12].try_into().unwrap()) as usize;
            pos += PCAP_RECORD_LEN + caplen;
            out.push(pos);
        }
        assert_eq!(pos, le.len());
        out
    }

    const SEC: u64 = 1_000_000_000;

    fn check_pcap_variant(be: bool, nanos: bool, magic: [u8; 4]) {
        let d1 = pattern(60, 1);
        let d3 = pattern(20, 3);
        let (frac1, frac3) = if nanos {
            (123_456_789, 999_999_999)
        } else {
            (123_456, 999_999)
        };
        let bytes = pcap_file(
            be,
            nanos,
            1,
            &[
                (1_700_000_000, frac1, &d1, 60),
                (1_700_000_001, 0, &[], 0),
                (u32::MAX, frac3, &d3, 1514),
            ],
        );
        assert_eq!(bytes[..4], magic);
        let r = run(&bytes);
        assert_eq!(r.kind, Some(FileKind::Pcap));
        assert_eq!(r.header_len, PCAP_HEADER_LEN);
        let (ts1, ts3) = if nanos {
            (1_700_000_000_123_456_789, 4_294_967_295_999_999_999)
        } else {
            (1_700_000_000_123_456_000, 4_294_967_295_999_999_000)
        };
        assert_eq!(
            r.frames,
            vec![
                F {
                    ts_ns: ts1,
                    link: 1,
                    data: &d1,
                    orig_len: 60
                },
                F {
                    ts_ns: 1_700_000_001 * SEC,
                    link: 1,
                    data: &[],
                    orig_len: 0
                },
                F {
                    ts_ns: ts3,
                    link: 1,
                    data: &d3,
                    orig_len: 1514
                },
            ]
        );
        assert_eq!(r.ends, vec![24 + 16 + 60, 24 + 16 + 60 + 16, bytes.len()]);
        assert_clean_end(&r, bytes.len());
    }

    #[test]
    fn pcap_little_endian_microseconds() {
        check_pcap_variant(false, false, [0xD4, 0xC3, 0xB2, 0xA1]);
    }

    #[test]
    fn pcap_big_endian_microseconds() {
        check_pcap_variant(true, false, [0xA1, 0xB2, 0xC3, 0xD4]);
    }

    #[test]
    fn pcap_little_endian_nanoseconds() {
        check_pcap_variant(false, true, [0x4D, 0x3C, 0xB2, 0xA1]);
    }

    #[test]
    fn pcap_big_endian_nanoseconds() {
        check_pcap_variant(true, true, [0xA1, 0xB2, 0x3C, 0x4D]);
    }

    #[test]
    fn pcap_link_type_is_the_low_16_bits() {
        // LinkType's upper bits carry the FCS length (pcap §4); the link type is the low 16.
        for be in [false, true] {
            let d = pattern(30, 9);
            let bytes = pcap_file(be, false, 0x1234_0071, &[(10, 20, &d, 30)]);
            let r = run(&bytes);
            assert_eq!(r.frames.len(), 1);
            assert_eq!(r.frames[0].link, 113);
            assert_eq!(r.frames[0].ts_ns, 10 * SEC + 20_000);
        }
    }

    #[test]
    fn pcap_orig_len_is_at_least_the_captured_length() {
        let d = pattern(40, 0);
        let bytes = pcap_file(false, false, 1, &[(1, 0, &d, 10), (2, 0, &d, 9000)]);
        let r = run(&bytes);
        assert_eq!(r.frames[0].orig_len, 40);
        assert_eq!(r.frames[1].orig_len, 9000);
        assert_eq!(r.frames[1].data, &d[..]);
    }

    #[test]
    fn pcap_version_other_than_2_is_not_a_capture() {
        let mut bytes = pcap_header(false, false, 1, 1);
        pcap_record(&mut bytes, false, 1, 0, 4, &[1, 2, 3, 4]);
        match run(&bytes).end {
            End::NotACapture(why) => assert!(why.contains("version 1"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn detect_short_empty_and_foreign_inputs() {
        assert!(matches!(CaptureParser::detect(&[]), Detect::NotACapture(_)));
        for n in 1..4 {
            assert!(matches!(
                CaptureParser::detect(&[0xD4, 0xC3, 0xB2][..n]),
                Detect::NeedMore
            ));
        }
        let header = pcap_header(true, true, 2, 1);
        for n in 4..PCAP_HEADER_LEN {
            assert!(matches!(CaptureParser::detect(&header[..n]), Detect::NeedMore), "{n}");
        }
        assert!(matches!(CaptureParser::detect(&MULTI_IF[..11]), Detect::NeedMore));
        match CaptureParser::detect(&MULTI_IF[..12]) {
            Detect::Capture { parser, header_len } => {
                assert_eq!(parser.kind(), FileKind::Pcapng);
                assert_eq!(header_len, 0);
            }
            other => panic!("{other:?}"),
        }
        match CaptureParser::detect(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") {
            Detect::NotACapture(why) => assert!(why.contains("47 45 54 20"), "{why}"),
            other => panic!("{other:?}"),
        }
        // pcapng SHB type with a byte-order magic that is neither order
        let mut shb = MULTI_IF[..28].to_vec();
        shb[8..12].copy_from_slice(&[1, 2, 3, 4]);
        assert!(matches!(CaptureParser::detect(&shb), Detect::NotACapture(_)));
    }

    #[test]
    fn pcap_fixture_nanosecond_matches_tshark() {
        // tshark -r loopback-nanosecond.pcap -T fields -e frame.time_epoch -e frame.len -e frame.cap_len
        let r = run(LOOPBACK_NS);
        assert_eq!(r.kind, Some(FileKind::Pcap));
        assert_eq!(r.frames.len(), 19);
        let want = [
            (1_795_839_710_724_162_676u64, 74u32, 74usize),
            (1_795_839_710_724_178_855, 74, 74),
            (1_795_839_710_724_193_879, 66, 66),
        ];
        for (fr, &(ts, len, cap)) in r.frames.iter().zip(&want) {
            assert_eq!((fr.ts_ns, fr.orig_len, fr.data.len(), fr.link), (ts, len, cap, 1));
        }
        let last = r.frames.last().unwrap();
        assert_eq!(
            (last.ts_ns, last.orig_len, last.data.len()),
            (1_795_839_711_233_303_147, 74, 74)
        );
        // Ethernet, IPv4
        assert_eq!(r.frames[0].data[12..15], [0x08, 0x00, 0x45]);
        // first record's data starts right after the file and record headers
        assert_eq!(r.frames[0].data, &LOOPBACK_NS[40..40 + 74]);
        assert_clean_end(&r, LOOPBACK_NS.len());
    }

    #[test]
    fn pcap_fixture_microsecond_matches_tshark() {
        let r = run(LOOPBACK_US);
        assert_eq!(r.frames.len(), 48);
        let first = r.frames[0];
        assert_eq!(
            (first.ts_ns, first.orig_len, first.data.len()),
            (1_795_839_705_668_233_000, 74, 74)
        );
        let f4 = r.frames[3];
        assert_eq!(
            (f4.ts_ns, f4.orig_len, f4.data.len()),
            (1_795_839_705_668_300_000, 153, 153)
        );
        let last = r.frames[47];
        assert_eq!(
            (last.ts_ns, last.orig_len, last.data.len()),
            (1_795_839_708_024_195_000, 74, 74)
        );
        assert!(r.frames.iter().all(|f| f.link == 1));
        assert_clean_end(&r, LOOPBACK_US.len());
    }

    #[test]
    fn pcap_byte_swapped_fixture_gives_the_same_frames() {
        for (fixture, magic) in [
            (LOOPBACK_NS, [0xA1, 0xB2, 0x3C, 0x4D]),
            (LOOPBACK_US, [0xA1, 0xB2, 0xC3, 0xD4]),
        ] {
            let swapped = swap_pcap(fixture);
            assert_eq!(swapped[..4], magic);
            assert_ne!(swapped, fixture);
            let (a, b) = (run(fixture), run(&swapped));
            assert!(!a.frames.is_empty());
            assert_eq!(a.frames, b.frames);
            assert_eq!(a.ends, b.ends);
            assert_clean_end(&b, swapped.len());
        }
    }

    #[test]
    fn pcap_caplen_over_limit_is_damage_at_that_record() {
        for be in [false, true] {
            let mut bytes = pcap_file(
                be,
                false,
                1,
                &[(1, 0, &pattern(50, 1), 50), (2, 0, &pattern(70, 2), 70)],
            );
            let bad_at = bytes.len();
            assert_eq!(bad_at, 24 + 66 + 86);
            pcap_record_raw(
                &mut bytes,
                be,
                3,
                0,
                MAX_FRAME_LEN + 1,
                MAX_FRAME_LEN + 1,
                &pattern(64, 3),
            );
            let r = run(&bytes);
            assert_eq!(r.frames.len(), 2);
            let d = damage(&r);
            assert_eq!(d.offset, bad_at as u64);
            assert!(d.reason.contains("262145"), "{}", d.reason);
            // the offset is absolute: base is added
            assert_eq!(damage(&run_base(&bytes, 1_000_000)).offset, 1_000_000 + bad_at as u64);
            // and the header alone is enough to tell (no NeedMore for 262 KB)
            assert_eq!(damage(&run(&bytes[..bad_at + PCAP_RECORD_LEN])).offset, bad_at as u64);
        }
    }

    #[test]
    fn pcap_caplen_at_the_limit_is_a_frame() {
        let big = pattern(MAX_FRAME_LEN as usize, 7);
        let bytes = pcap_file(false, true, 1, &[(5, 6, &big, MAX_FRAME_LEN)]);
        let r = run(&bytes);
        assert_eq!(r.frames.len(), 1);
        assert_eq!(r.frames[0].data.len(), MAX_FRAME_LEN as usize);
        assert_eq!(r.frames[0].ts_ns, 5 * SEC + 6);
        assert_clean_end(&r, bytes.len());
    }

    #[test]
    fn pcap_impossible_subsecond_is_damage() {
        for (be, nanos, frac) in [
            (false, false, 1_000_000),
            (true, false, 1_000_000),
            (false, false, u32::MAX),
            (false, true, 1_000_000_000),
            (true, true, u32::MAX),
        ] {
            let mut bytes = pcap_file(be, nanos, 1, &[(1, 0, &[1, 2, 3], 3)]);
            let bad_at = bytes.len();
            pcap_record(&mut bytes, be, 2, frac, 3, &[4, 5, 6]);
            let r = run(&bytes);
            assert_eq!(r.frames.len(), 1, "{be} {nanos} {frac}");
            let d = damage(&r);
            assert_eq!(d.offset, bad_at as u64);
            assert!(d.reason.contains("sub-second"), "{}", d.reason);
            assert!(d.to_string().ends_with(&format!("at byte offset {bad_at}")));
        }
    }

    #[test]
    fn pcap_damage_leaves_the_position_on_the_record() {
        let mut bytes = pcap_header(false, false, 2, 1);
        pcap_record_raw(&mut bytes, false, 1, 0, MAX_FRAME_LEN + 4, 0, &[]);
        let Detect::Capture { mut parser, header_len } = CaptureParser::detect(&bytes) else {
            panic!()
        };
        let mut pos = header_len;
        for _ in 0..3 {
            assert!(matches!(parser.next(&bytes, &mut pos, 0), Next::Damaged(_)));
            assert_eq!(pos, header_len);
        }
    }

    // ---------------------------------------------------------------- pcapng builders

    /// A block: type, total length, body padded to 32 bits, total length (§3.1).
    fn block(be: bool, btype: u32, body: &[u8]) -> Vec<u8> {
        let padded = body.len().div_ceil(4) * 4;
        let total = (12 + padded) as u32;
        let mut v = Vec::new();
        put32(&mut v, btype, be);
        put32(&mut v, total, be);
        v.extend_from_slice(body);
        v.resize(8 + padded, 0);
        put32(&mut v, total, be);
        v
    }

    /// SHB (§4.1): byte-order magic, version 1.0, section length -1.
    fn shb(be: bool) -> Vec<u8> {
        let mut body = Vec::new();
        put32(&mut body, 0x1A2B_3C4D, be);
        put16(&mut body, 1, be);
        put16(&mut body, 0, be);
        body.extend_from_slice(&[0xFF; 8]);
        block(be, 0x0A0D_0D0A, &body)
    }

    /// Options (§3.5), each padded to 32 bits, then opt_endofopt.
    fn options(be: bool, opts: &[(u16, &[u8])]) -> Vec<u8> {
        let mut v = Vec::new();
        for &(code, val) in opts {
            put16(&mut v, code, be);
            put16(&mut v, val.len() as u16, be);
            v.extend_from_slice(val);
            v.resize(v.len().div_ceil(4) * 4, 0);
        }
        if !opts.is_empty() {
            v.extend_from_slice(&[0, 0, 0, 0]);
        }
        v
    }

    /// IDB (§4.2).
    fn idb(be: bool, link: u16, snaplen: u32, opts: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        put16(&mut body, link, be);
        put16(&mut body, 0, be);
        put32(&mut body, snaplen, be);
        body.extend_from_slice(&options(be, opts));
        block(be, 1, &body)
    }

    /// EPB (§4.3) with an explicit captured length.
    fn epb_raw(be: bool, iface: u32, ts: u64, caplen: u32, orig: u32, data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        put32(&mut body, iface, be);
        put32(&mut body, (ts >> 32) as u32, be);
        put32(&mut body, ts as u32, be);
        put32(&mut body, caplen, be);
        put32(&mut body, orig, be);
        body.extend_from_slice(data);
        block(be, 6, &body)
    }

    fn epb(be: bool, iface: u32, ts: u64, data: &[u8], orig: u32) -> Vec<u8> {
        epb_raw(be, iface, ts, data.len() as u32, orig, data)
    }

    /// Obsolete Packet Block (Appendix A): interface u16, drops u16, then as EPB.
    fn pb(be: bool, iface: u16, drops: u16, ts: u64, data: &[u8], orig: u32) -> Vec<u8> {
        let mut body = Vec::new();
        put16(&mut body, iface, be);
        put16(&mut body, drops, be);
        put32(&mut body, (ts >> 32) as u32, be);
        put32(&mut body, ts as u32, be);
        put32(&mut body, data.len() as u32, be);
        put32(&mut body, orig, be);
        body.extend_from_slice(data);
        block(be, 2, &body)
    }

    /// SPB (§4.4): original length, data.
    fn spb(be: bool, orig: u32, data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        put32(&mut body, orig, be);
        body.extend_from_slice(data);
        block(be, 3, &body)
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// Block boundaries of a well-formed pcapng (sections in either byte order), computed
    /// without the parser.
    fn pcapng_boundaries(bytes: &[u8]) -> Vec<usize> {
        let mut out = Vec::new();
        let mut pos = 0;
        let mut be = false;
        while pos < bytes.len() {
            if bytes[pos..pos + 4] == [0x0A, 0x0D, 0x0D, 0x0A] {
                be = bytes[pos + 8..pos + 12] == [0x1A, 0x2B, 0x3C, 0x4D];
            }
            let len: [u8; 4] = bytes[pos + 4..pos + 8].try_into().unwrap();
            pos += if be {
                u32::from_be_bytes(len)
            } else {
                u32::from_le_bytes(len)
            } as usize;
            out.push(pos);
        }
        assert_eq!(pos, bytes.len());
        out
    }

    #[test]
    fn pcapng_fixture_multi_interface_matches_tshark() {
        // tshark -r multi-interface.pcapng -T fields -e frame.interface_id -e frame.encap_type
        //   -e frame.time_epoch -e frame.cap_len   (encap 1 = Ethernet, 7 = raw IP: LINKTYPE_RAW 101)
        const WANT: [(u32, &str, usize); 38] = [
            (0, "1795839731.424327196", 74),
            (0, "1795839731.424343172", 74),
            (0, "1795839731.424355902", 66),
            (0, "1795839731.429524120", 102),
            (0, "1795839731.429535110", 66),
            (0, "1795839731.431194369", 74),
            (0, "1795839731.431217301", 66),
            (0, "1795839731.431245397", 74),
            (0, "1795839731.431288731", 74),
            (0, "1795839731.431319943", 74),
            (0, "1795839731.431358316", 72),
            (0, "1795839731.431384518", 71),
            (0, "1795839731.431424296", 66),
            (0, "1795839731.431455946", 66),
            (0, "1795839731.431467534", 66),
            (0, "1795839731.951580229", 74),
            (0, "1795839731.952254041", 74),
            (0, "1795839731.952309458", 74),
            (0, "1795839731.952330738", 74),
            (1, "1795839732.433056233", 60),
            (1, "1795839732.433494033", 60),
            (1, "1795839732.433528827", 52),
            (1, "1795839732.435467596", 88),
            (1, "1795839732.435499970", 52),
            (1, "1795839732.435599173", 60),
            (1, "1795839732.435667064", 52),
            (1, "1795839732.435704267", 60),
            (1, "1795839732.435748180", 60),
            (1, "1795839732.435800535", 60),
            (1, "1795839732.435839951", 58),
            (1, "1795839732.435881068", 57),
            (1, "1795839732.435930950", 52),
            (1, "1795839732.435961209", 52),
            (1, "1795839732.436078729", 52),
            (1, "1795839732.923392928", 60),
            (1, "1795839732.923877999", 60),
            (1, "1795839732.923933042", 60),
            (1, "1795839732.923958953", 60),
        ];
        let r = run(MULTI_IF);
        assert_eq!(r.kind, Some(FileKind::Pcapng));
        assert_eq!(r.header_len, 0);
        assert_eq!(r.frames.len(), WANT.len());
        for (i, (fr, &(iface, epoch, len))) in r.frames.iter().zip(WANT.iter()).enumerate() {
            let (s, ns) = epoch.split_once('.').unwrap();
            let ts = s.parse::<u64>().unwrap() * SEC + ns.parse::<u64>().unwrap();
            let link = if iface == 0 { 1 } else { 101 };
            assert_eq!(
                (fr.ts_ns, fr.link, fr.data.len(), fr.orig_len),
                (ts, link, len, len as u32),
                "frame {}",
                i + 1
            );
        }
        // Ethernet/IPv4 on interface 0, bare IPv4 on interface 1
        assert_eq!(r.frames[0].data[12..15], [0x08, 0x00, 0x45]);
        assert_eq!(r.frames[19].data[0], 0x45);
        // first EPB at 328 (SHB 180 + IDBs 80 and 68), its data 28 bytes into the block
        assert_eq!(r.frames[0].data, &MULTI_IF[356..356 + 74]);
        // the file ends with two interface statistics blocks, skipped
        assert_eq!(*r.ends.last().unwrap(), 4080);
        assert_clean_end(&r, MULTI_IF.len());
    }

    #[test]
    fn pcapng_epb_in_both_byte_orders() {
        for be in [false, true] {
            let (d0, d1) = (pattern(42, 1), pattern(33, 2));
            let bytes = cat(&[
                &shb(be),
                &idb(be, 1, 0, &[]),
                &idb(be, 113, 65535, &[(9, &[9])]),
                &epb(be, 0, 1_700_000_000_123_456, &d0, 42),
                &epb(be, 1, 1_700_000_000_123_456_789, &d1, 1500),
            ]);
            let r = run(&bytes);
            assert_eq!(r.kind, Some(FileKind::Pcapng));
            assert_eq!(
                r.frames,
                vec![
                    F {
                        ts_ns: 1_700_000_000_123_456_000,
                        link: 1,
                        data: &d0,
                        orig_len: 42
                    },
                    F {
                        ts_ns: 1_700_000_000_123_456_789,
                        link: 113,
                        data: &d1,
                        orig_len: 1500
                    },
                ]
            );
            assert_clean_end(&r, bytes.len());
        }
    }

    #[test]
    fn pcapng_simple_packet_block_captured_length() {
        for be in [false, true] {
            let d12 = pattern(12, 4);
            let d10 = pattern(10, 5);
            // snaplen 0: no limit; captured = min(orig, room in the block)
            let bytes = cat(&[
                &shb(be),
                &idb(be, 1, 0, &[]),
                &idb(be, 101, 0, &[]),
                &spb(be, 12, &d12),
                &spb(be, 10, &d10),   // padded to 12 in the block: 10 are the packet
                &spb(be, 1514, &d12), // cut by the capture: 12 bytes in the block
                &shb(be),
                &idb(be, 113, 8, &[]), // snaplen 8
                &spb(be, 1514, &d12),
                &spb(be, 5, &d12[..8]),
            ]);
            let r = run(&bytes);
            let got: Vec<_> = r.frames.iter().map(|f| (f.ts_ns, f.link, f.data, f.orig_len)).collect();
            assert_eq!(
                got,
                vec![
                    (0, 1, &d12[..], 12),
                    (0, 1, &d10[..], 10),
                    (0, 1, &d12[..], 1514),
                    (0, 113, &d12[..8], 1514),
                    (0, 113, &d12[..5], 5),
                ]
            );
            assert_clean_end(&r, bytes.len());
        }
    }

    #[test]
    fn pcapng_simple_packet_block_before_any_interface_is_damage() {
        let bytes = cat(&[&shb(false), &spb(false, 4, &[1, 2, 3, 4])]);
        let r = run(&bytes);
        assert!(r.frames.is_empty());
        assert_eq!(damage(&r).offset, 28);
    }

    #[test]
    fn pcapng_simple_packet_block_over_the_frame_limit_is_damage() {
        // snaplen 0 (unlimited) and a block holding MAX_FRAME_LEN + 4 bytes (found by reading
        // the code: SPBs skipped the frame-length limit EPBs have)
        let big = vec![0u8; MAX_FRAME_LEN as usize + 4];
        let head = cat(&[&shb(false), &idb(false, 1, 0, &[])]);
        let bytes = cat(&[&head, &spb(false, big.len() as u32, &big)]);
        let r = run(&bytes);
        assert!(r.frames.is_empty());
        assert_eq!(damage(&r).offset, head.len() as u64);
        // at the limit it is a frame
        let ok = vec![7u8; MAX_FRAME_LEN as usize];
        let bytes = cat(&[&head, &spb(false, ok.len() as u32, &ok)]);
        assert_eq!(run(&bytes).frames.len(), 1);
    }

    #[test]
    fn pcapng_obsolete_packet_block() {
        for be in [false, true] {
            let d = pattern(21, 6);
            let bytes = cat(&[
                &shb(be),
                &idb(be, 1, 0, &[]),
                &idb(be, 276, 0, &[(9, &[3])]),
                &pb(be, 1, 5, 1_700_000_000_250, &d, 60),
                &pb(be, 0, 0, 1_700_000_000_000_001, &d, 21),
            ]);
            let r = run(&bytes);
            assert_eq!(
                r.frames,
                vec![
                    F {
                        ts_ns: 1_700_000_000_250_000_000,
                        link: 276,
                        data: &d,
                        orig_len: 60
                    },
                    F {
                        ts_ns: 1_700_000_000_000_001_000,
                        link: 1,
                        data: &d,
                        orig_len: 21
                    },
                ]
            );
            assert_clean_end(&r, bytes.len());
        }
    }

    #[test]
    fn pcapng_unknown_blocks_are_skipped() {
        let be = false;
        let d = pattern(16, 8);
        let bytes = cat(&[
            &shb(be),
            &block(be, 0x0000_0BAD, &pattern(13, 1)), // custom, not copiable
            &idb(be, 1, 0, &[]),
            &block(be, 4, &[0, 0, 0, 0]), // name resolution block
            &block(be, 0x4000_0BAD, &[]), // custom, length 12
            &epb(be, 0, 1_000_000, &d, 16),
            &block(be, 5, &pattern(20, 2)),          // interface statistics
            &block(be, 0x8000_0001, &pattern(4, 3)), // reserved for local use
            &block(be, 0x0000_000A, &pattern(8, 4)), // decryption secrets
            &epb(be, 0, 2_000_000, &d, 16),
            &block(be, 0x1234_5678, &[]),
        ]);
        let r = run(&bytes);
        assert_eq!(r.frames.iter().map(|f| f.ts_ns).collect::<Vec<_>>(), [SEC, 2 * SEC]);
        assert_clean_end(&r, bytes.len());
    }

    #[test]
    fn pcapng_if_tsresol_decimal_and_binary() {
        for be in [false, true] {
            let d = [0x45u8; 20];
            let bytes = cat(&[
                &shb(be),
                // if_name (code 2, odd length: padding) before if_tsresol
                &idb(be, 1, 0, &[(2, b"eth"), (9, &[3])]), // 0: milliseconds
                &idb(be, 1, 0, &[(9, &[0x80 | 20])]),      // 1: 2^-20 s
                &idb(be, 1, 0, &[]),                       // 2: default, microseconds
                &idb(be, 1, 0, &[(9, &[9])]),              // 3: nanoseconds
                &idb(be, 1, 0, &[(9, &[0x80])]),           // 4: 2^0 = seconds
                &idb(be, 1, 0, &[(9, &[10])]),             // 5: 100 ps
                &idb(be, 1, 0, &[(9, &[0])]),              // 6: 10^0 = seconds
                &epb(be, 0, 1_700_000_000_123, &d, 20),
                &epb(be, 1, (1_700_000_000u64 << 20) | (1 << 19), &d, 20),
                &epb(be, 1, (1_700_000_000u64 << 20) | (1 << 18), &d, 20),
                &epb(be, 2, 1_700_000_000_123_456, &d, 20),
                &epb(be, 3, 1_700_000_000_123_456_789, &d, 20),
                &epb(be, 4, 1_700_000_000, &d, 20),
                &epb(be, 5, 17_000_000_001_234_567_890, &d, 20),
                &epb(be, 6, 1_700_000_000, &d, 20),
            ]);
            let r = run(&bytes);
            let ts: Vec<u64> = r.frames.iter().map(|f| f.ts_ns).collect();
            assert_eq!(
                ts,
                [
                    1_700_000_000_123_000_000,
                    1_700_000_000_500_000_000,
                    1_700_000_000_250_000_000,
                    1_700_000_000_123_456_000,
                    1_700_000_000_123_456_789,
                    1_700_000_000_000_000_000,
                    1_700_000_000_123_456_789,
                    1_700_000_000_000_000_000,
                ],
                "big endian: {be}"
            );
            assert_clean_end(&r, bytes.len());
        }
    }

    #[test]
    fn pcapng_if_tsoffset_positive_and_negative() {
        for be in [false, true] {
            let plus = if be {
                1_600_000_000i64.to_be_bytes()
            } else {
                1_600_000_000i64.to_le_bytes()
            };
            let minus = if be {
                (-100i64).to_be_bytes()
            } else {
                (-100i64).to_le_bytes()
            };
            let d = [0u8; 14];
            let bytes = cat(&[
                &shb(be),
                &idb(be, 1, 0, &[(14, &plus)]),
                &idb(be, 1, 0, &[(9, &[9]), (14, &minus)]),
                &epb(be, 0, 100_000_000_250_000, &d, 14), // 100000000.25 s in µs
                &epb(be, 1, 1_700_000_100_000_000_001, &d, 14),
            ]);
            let r = run(&bytes);
            let ts: Vec<u64> = r.frames.iter().map(|f| f.ts_ns).collect();
            assert_eq!(ts, [1_700_000_000_250_000_000, 1_700_000_000_000_000_001]);
        }
    }

    #[test]
    fn pcapng_options_running_past_the_block_are_ignored() {
        // an option claiming 200 bytes in a short IDB: the interface stays, with defaults
        let mut body = Vec::new();
        put16(&mut body, 101, false);
        put16(&mut body, 0, false);
        put32(&mut body, 0, false);
        put16(&mut body, 9, false);
        put16(&mut body, 200, false);
        body.extend_from_slice(&[3, 0, 0, 0]);
        let bytes = cat(&[
            &shb(false),
            &block(false, 1, &body),
            &epb(false, 0, 5_000_001, &[0x45], 1),
        ]);
        let r = run(&bytes);
        assert_eq!(r.frames.len(), 1);
        assert_eq!((r.frames[0].link, r.frames[0].ts_ns), (101, 5 * SEC + 1000));
    }

    #[test]
    fn pcapng_new_sections_reset_interfaces_and_byte_order() {
        let (a, b, c) = (pattern(20, 1), pattern(24, 2), pattern(28, 3));
        let sec_a = cat(&[
            &shb(false),
            &idb(false, 1, 0, &[]),
            &idb(false, 101, 0, &[]),
            &epb(false, 1, 1_000_001, &a, 20),
        ]);
        let sec_b = cat(&[
            &shb(true),
            &idb(true, 113, 0, &[(9, &[9])]),
            &epb(true, 0, 2_000_000_002, &b, 24),
        ]);
        let sec_c_ok = cat(&[&shb(false), &idb(false, 228, 0, &[]), &epb(false, 0, 3_000_003, &c, 28)]);
        let bad = epb(false, 1, 4_000_000, &c, 28); // interface 1 was declared in section A only
        let bytes = cat(&[&sec_a, &sec_b, &sec_c_ok, &bad, &epb(false, 0, 5_000_000, &c, 28)]);
        let r = run(&bytes);
        assert_eq!(
            r.frames,
            vec![
                F {
                    ts_ns: SEC + 1000,
                    link: 101,
                    data: &a,
                    orig_len: 20
                },
                F {
                    ts_ns: 2 * SEC + 2,
                    link: 113,
                    data: &b,
                    orig_len: 24
                },
                F {
                    ts_ns: 3 * SEC + 3000,
                    link: 228,
                    data: &c,
                    orig_len: 28
                },
            ]
        );
        let d = damage(&r);
        assert_eq!(d.offset, (sec_a.len() + sec_b.len() + sec_c_ok.len()) as u64);
        assert!(d.reason.contains("interface 1"), "{}", d.reason);

        // a big-endian section's interface is not visible from the next one either
        let bytes = cat(&[&sec_b, &shb(true), &epb(true, 0, 1, &b, 24)]);
        let r = run(&bytes);
        assert_eq!(r.frames.len(), 1);
        assert_eq!(damage(&r).offset, (sec_b.len() + 28) as u64);
    }

    #[test]
    fn pcapng_big_endian_file_is_detected() {
        let bytes = cat(&[&shb(true), &idb(true, 1, 0, &[]), &epb(true, 0, 7, &[1; 8], 8)]);
        assert_eq!(
            bytes[..12],
            [0x0A, 0x0D, 0x0D, 0x0A, 0, 0, 0, 28, 0x1A, 0x2B, 0x3C, 0x4D]
        );
        let r = run(&bytes);
        assert_eq!(r.kind, Some(FileKind::Pcapng));
        assert_eq!(r.frames.len(), 1);
        assert_eq!(r.frames[0].ts_ns, 7000);
    }

    #[test]
    fn pcapng_epb_for_an_undeclared_interface_is_damage() {
        let head = cat(&[&shb(false), &idb(false, 1, 0, &[]), &epb(false, 0, 1, &[1; 4], 4)]);
        let bytes = cat(&[&head, &epb(false, 3, 2, &[2; 4], 4)]);
        let r = run(&bytes);
        assert_eq!(r.frames.len(), 1);
        let d = damage(&r);
        assert_eq!(d.offset, head.len() as u64);
        assert!(d.reason.contains("interface 3"), "{}", d.reason);
        assert_eq!(damage(&run_base(&bytes, 4096)).offset, 4096 + head.len() as u64);
        // before any IDB
        let bytes = cat(&[&shb(false), &epb(false, 0, 2, &[2; 4], 4)]);
        let r = run(&bytes);
        assert_eq!(damage(&r).offset, 28);
    }

    #[test]
    fn pcapng_bad_block_lengths_are_damage_at_the_block() {
        let head = cat(&[&shb(false), &idb(false, 1, 0, &[]), &epb(false, 0, 1, &[9; 10], 10)]);
        let at = head.len() as u64;
        let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
        // total length not a multiple of 4
        let mut b = epb(false, 0, 2, &[1; 16], 16);
        b[4..8].copy_from_slice(&30u32.to_le_bytes());
        cases.push(("not multiple of 4", b));
        // shorter than a block can be
        cases.push((
            "length 8",
            [6u32.to_le_bytes(), 8u32.to_le_bytes(), 8u32.to_le_bytes()].concat(),
        ));
        cases.push((
            "length 0",
            [6u32.to_le_bytes(), 0u32.to_le_bytes(), 0u32.to_le_bytes()].concat(),
        ));
        // trailing length differs from the leading one
        let mut b = epb(false, 0, 2, &[1; 16], 16);
        let n = b.len();
        b[n - 4..].copy_from_slice(&(n as u32 + 4).to_le_bytes());
        cases.push(("trailing mismatch", b));
        // beyond the block size limit
        let mut b = block(false, 0x0BAD, &[0; 8]);
        b[4..8].copy_from_slice(&(MAX_BLOCK_LEN + 4).to_le_bytes());
        cases.push(("too long", b));
        // captured length larger than the block body
        cases.push(("caplen past body", epb_raw(false, 0, 2, 64, 64, &[1; 16])));
        // captured length beyond MAX_FRAME_LEN
        cases.push((
            "caplen over limit",
            epb_raw(false, 0, 2, MAX_FRAME_LEN + 1, MAX_FRAME_LEN + 1, &[1; 16]),
        ));
        // an EPB too short for its fixed fields
        cases.push(("short epb", block(false, 6, &[0; 12])));
        // a second SHB with a bad byte-order magic
        let mut b = shb(false);
        b[8..12].copy_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF]);
        cases.push(("bad bom", b));
        // an IDB too short for its fixed fields
        cases.push(("short idb", block(false, 1, &[1, 0, 0, 0])));
        // a SHB too short
        let mut b = block(false, 0x0A0D_0D0A, &[0; 4]);
        b[8..12].copy_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        cases.push(("short shb", b));
        for (what, bad) in cases {
            // followed by a good block, which must not be reached
            let bytes = cat(&[&head, &bad, &epb(false, 0, 3, &[7; 8], 8)]);
            let r = run(&bytes);
            assert_eq!(r.frames.len(), 1, "{what}");
            assert_eq!(damage(&r).offset, at, "{what}");
            assert_eq!(damage(&run_base(&bytes, 1 << 40)).offset, (1 << 40) + at, "{what}");
        }
    }

    // ---------------------------------------------------------------- truncation

    /// Run the parser over every prefix of `full`: no panic, frames are the leading frames of
    /// the whole file, the end is `NeedMore` (never `Damaged`), at the last complete record.
    fn check_every_prefix(full: &[u8], boundaries: &[usize], detect_len: usize) {
        let whole = run(full);
        assert_clean_end(&whole, full.len());
        for n in 0..=full.len() {
            let r = run(&full[..n]);
            if n == 0 {
                assert!(matches!(r.end, End::NotACapture(_)));
                continue;
            }
            if n < detect_len {
                assert_eq!(r.end, End::DetectNeedMore, "prefix {n}");
                continue;
            }
            let complete = whole.ends.iter().take_while(|&&e| e <= n).count();
            assert_eq!(r.frames, whole.frames[..complete], "prefix {n}");
            assert_eq!(r.ends, whole.ends[..complete], "prefix {n}");
            let last = boundaries.iter().copied().filter(|&b| b <= n).max().unwrap_or(0);
            let End::NeedMore { pos, needed } = r.end else {
                panic!("prefix {n}: {:?}", r.end)
            };
            assert_eq!(pos, last, "prefix {n}: stops after the last complete record");
            assert!(needed >= 1, "prefix {n}");
            if n == full.len() {
                continue;
            }
            let next = boundaries.iter().copied().find(|&b| b > n).unwrap();
            assert!(
                n + needed <= next,
                "prefix {n}: needs {needed}, next record ends at {next}"
            );
        }
    }

    #[test]
    fn every_prefix_of_a_nanosecond_pcap() {
        check_every_prefix(LOOPBACK_NS, &pcap_boundaries(LOOPBACK_NS), PCAP_HEADER_LEN);
    }

    #[test]
    fn every_prefix_of_a_microsecond_pcap_and_its_byte_swap() {
        let bounds = pcap_boundaries(LOOPBACK_US);
        check_every_prefix(LOOPBACK_US, &bounds, PCAP_HEADER_LEN);
        check_every_prefix(&swap_pcap(LOOPBACK_US), &bounds, PCAP_HEADER_LEN);
    }

    #[test]
    fn every_prefix_of_a_pcapng() {
        check_every_prefix(MULTI_IF, &pcapng_boundaries(MULTI_IF), 12);
    }

    #[test]
    fn every_prefix_of_a_synthetic_pcapng_with_all_block_kinds() {
        let le = cat(&[
            &shb(false),
            &idb(false, 1, 0, &[(2, b"eth0"), (9, &[9]), (14, &5i64.to_le_bytes())]),
            &block(false, 0x0BAD, &[1, 2, 3]),
            &spb(false, 30, &pattern(30, 1)),
            &pb(false, 0, 1, 77, &pattern(9, 2), 9),
            &epb(false, 0, 88, &pattern(61, 3), 100),
            &shb(false),
            &idb(false, 101, 64, &[]),
            &epb(false, 0, 99, &pattern(7, 4), 7),
        ]);
        check_every_prefix(&le, &pcapng_boundaries(&le), 12);
    }

    #[test]
    fn every_prefix_of_a_pcapng_with_sections_in_both_byte_orders() {
        let bytes = cat(&[
            &shb(true),
            &idb(true, 1, 0, &[(9, &[0x80 | 10])]),
            &epb(true, 0, 1 << 40, &pattern(15, 1), 15),
            &spb(true, 40, &pattern(40, 2)),
            &shb(false),
            &idb(false, 113, 0, &[]),
            &epb(false, 0, 5, &pattern(33, 3), 33),
            &shb(true),
            &idb(true, 276, 0, &[]),
            &pb(true, 0, 0, 6, &pattern(1, 4), 1),
        ]);
        let bounds = pcapng_boundaries(&bytes);
        assert_eq!(bounds.len(), 10);
        let whole = run(&bytes);
        let links: Vec<u16> = whole.frames.iter().map(|f| f.link).collect();
        assert_eq!(links, [1, 1, 113, 276]);
        assert_eq!(whole.frames[0].ts_ns, (1u64 << 30) * SEC);
        check_every_prefix(&bytes, &bounds, 12);
    }
}
