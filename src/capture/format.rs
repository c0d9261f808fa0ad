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
