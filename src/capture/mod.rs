//! Layer 1 — capture: where frames come from.
//!
//! Owns the capture file formats (`format`: classic pcap, pcapng) and the inputs (`source`:
//! a memory-mapped file whose frames are slices of the file, or stdin read in owned chunks).
//! A [`Frame`] borrows its bytes; nothing here copies packet data from a mapped file.
//! Live capture (`live`, cargo feature `live`): frames copied once out of libpcap's ring into
//! pooled chunks.

pub mod format;
#[cfg(feature = "live")]
pub mod live;
pub mod source;

pub use format::{CaptureParser, Damage, Detect, FileKind, Next};
pub use source::{Input, MappedFile, OpenError, StreamReader};

/// A link-layer header type (`LINKTYPE_*` of the tcpdump.org registry, as stored in pcap and
/// pcapng). Unknown values are kept, not rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LinkType(pub u16);

impl LinkType {
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP on some systems' DLT_RAW value.
    pub const RAW_ALT: LinkType = LinkType(12);
    pub const RAW_OPENBSD: LinkType = LinkType(14);
    /// Raw IPv4 or IPv6, no link header.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

/// One captured frame. `data` is a slice of the input (the mapped file, or a stdin chunk).
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    pub link_type: LinkType,
    /// The captured bytes (at most the snap length).
    pub data: &'a [u8],
    /// The frame's length on the wire.
    pub orig_len: u32,
}
