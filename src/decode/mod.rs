//! Layer 2 — decode: a frame's bytes sliced into a [`PacketMeta`] (link, IP, TCP/UDP).
//!
//! Link headers are read here (Ethernet with 802.1Q/802.1ad tags, Linux SLL and SLL2, raw IP,
//! BSD/OpenBSD loopback); IP and transport headers are sliced with etherparse's lax slicer, so
//! a frame cut by the snap length still yields its outer layers. Everything borrows the frame:
//! decoding never allocates. IP fragments come out as [`L4::Fragment`]; `defrag` reassembles
//! them (bounded) and [`transport_from_ip_payload`] decodes the reassembled datagram.

pub mod defrag;

use etherparse::{IpNumber, LaxIpSlice, TcpSlice, UdpSlice};

use crate::capture::{Frame, LinkType};

/// Linux cooked capture v1 header length (`LINKTYPE_LINUX_SLL`).
pub const SLL_LEN: usize = 16;
/// Linux cooked capture v2 header length (`LINKTYPE_LINUX_SLL2`).
pub const SLL2_LEN: usize = 20;
/// BSD/OpenBSD loopback header length.
pub const NULL_LEN: usize = 4;
/// VLAN tags we record per frame (the outermost ones).
pub const MAX_VLAN_TAGS: usize = 2;

/// An IPv4 or IPv6 address in 16 bytes (IPv4 in the first four, the rest zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Addr {
    pub bytes: [u8; 16],
    pub v6: bool,
}

impl Addr {
    pub fn v4(a: [u8; 4]) -> Addr {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&a);
        Addr { bytes, v6: false }
    }
    pub fn v6(a: [u8; 16]) -> Addr {
        Addr { bytes: a, v6: true }
    }
    /// The address bytes as on the wire (4 or 16).
    pub fn octets(&self) -> &[u8] {
        if self.v6 { &self.bytes } else { &self.bytes[..4] }
    }
    pub fn to_ip(&self) -> std::net::IpAddr {
        if self.v6 {
            std::net::IpAddr::from(self.bytes)
        } else {
            std::net::IpAddr::from([self.bytes[0], self.bytes[1], self.bytes[2], self.bytes[3]])
        }
    }
}

/// TCP header fields the flow layer uses.
#[derive(Debug, Clone, Copy)]
pub struct TcpMeta<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    /// Flag byte: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80.
    pub flags: u8,
    pub window: u16,
    /// The captured payload.
    pub payload: &'a [u8],
    /// The payload length the IP header declares: more than `payload.len()` when the capture's
    /// snap length cut the frame (the rest was on the wire but is not in the capture).
    pub payload_len: u32,
}

impl TcpMeta<'_> {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const ACK: u8 = 0x10;
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
}

/// A piece of a fragmented IP datagram.
#[derive(Debug, Clone, Copy)]
pub struct FragMeta<'a> {
    /// IPv4 identification (16 bits) or IPv6 fragment identification (32 bits).
    pub id: u32,
    /// Byte offset of this piece in the datagram's payload.
    pub offset: u32,
    pub more: bool,
    pub data: &'a [u8],
}

/// What the IP packet carries.
#[derive(Debug, Clone, Copy)]
pub enum L4<'a> {
    Tcp(TcpMeta<'a>),
    Udp {
        src_port: u16,
        dst_port: u16,
        payload: &'a [u8],
    },
    /// A fragment: the transport header is known only once the datagram is reassembled.
    Fragment(FragMeta<'a>),
    /// An ICMP error (destination unreachable, time exceeded, …) quoting a TCP/UDP packet:
    /// it is counted in the quoted packet's flow, as tshark and Suricata do.
    IcmpError(Quoted),
    /// Another IP protocol (ICMP, GRE, ESP…), not followed as a flow.
    Other,
}

/// The header of the packet an ICMP error quotes (RFC 792, RFC 4443 §3: the invoking packet's
/// IP header and at least the first 8 bytes of its payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quoted {
    pub src: Addr,
    pub dst: Addr,
    pub proto: u8,
    pub src_port: u16,
    pub dst_port: u16,
}

/// ICMPv4 error types that quote the invoking packet: unreachable, source quench, redirect,
/// time exceeded, parameter problem (RFC 792).
const ICMP4_ERRORS: [u8; 5] = [3, 4, 5, 11, 12];
/// ICMPv6 error types 1-4: unreachable, packet too big, time exceeded, parameter problem.
const ICMP6_ERRORS: std::ops::RangeInclusive<u8> = 1..=4;
/// ICMP header length before the quoted packet.
const ICMP_HEADER_LEN: usize = 8;

/// The TCP/UDP packet quoted in an ICMP error message body (`msg` starts at the ICMP header).
fn icmp_quoted(msg: &[u8], v6: bool) -> Option<Quoted> {
    let q = msg.get(ICMP_HEADER_LEN..)?;
    let (src, dst, proto, l4) = if v6 {
        let h = q.get(..40)?;
        if h[0] >> 4 != 6 {
            return None;
        }
        let s: [u8; 16] = h[8..24].try_into().ok()?;
        let d: [u8; 16] = h[24..40].try_into().ok()?;
        (Addr::v6(s), Addr::v6(d), h[6], &q[40..])
    } else {
        let h = q.get(..20)?;
        let ihl = (h[0] & 0x0F) as usize * 4;
        if h[0] >> 4 != 4 || ihl < 20 {
            return None;
        }
        // a quoted non-first fragment carries no ports
        if u16::from_be_bytes([h[6], h[7]]) & 0x1FFF != 0 {
            return None;
        }
        (
            Addr::v4([h[12], h[13], h[14], h[15]]),
            Addr::v4([h[16], h[17], h[18], h[19]]),
            h[9],
            q.get(ihl..)?,
        )
    };
    if proto != IpNumber::TCP.0 && proto != IpNumber::UDP.0 {
        return None;
    }
    let p = l4.get(..4)?;
    Some(Quoted {
        src,
        dst,
        proto,
        src_port: u16::from_be_bytes([p[0], p[1]]),
        dst_port: u16::from_be_bytes([p[2], p[3]]),
    })
}

/// One decoded packet, borrowing the frame.
#[derive(Debug, Clone, Copy)]
pub struct PacketMeta<'a> {
    /// VLAN ids, outermost first; `vlan_count` of them are valid.
    pub vlan: [u16; MAX_VLAN_TAGS],
    pub vlan_count: u8,
    pub src: Addr,
    pub dst: Addr,
    /// IPv4 protocol / IPv6 next header of the (unfragmentable part's) payload.
    pub ip_proto: u8,
    pub l4: L4<'a>,
}

/// Why a frame could not be decoded to an IP packet. Counted in the stats by [`DecodeError::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// A link type we do not decode (the value is kept).
    UnsupportedLinkType(u16),
    /// The link header is cut short.
    LinkTruncated,
    /// A valid frame that does not carry IP (ARP, LLDP, STP, …).
    NotIp,
    /// The IP header is cut short or invalid.
    IpHeader,
    /// The TCP/UDP header is cut short or invalid.
    TransportHeader,
}

impl DecodeError {
    pub const COUNT: usize = 5;
    pub fn index(&self) -> usize {
        match self {
            DecodeError::UnsupportedLinkType(_) => 0,
            DecodeError::LinkTruncated => 1,
            DecodeError::NotIp => 2,
            DecodeError::IpHeader => 3,
            DecodeError::TransportHeader => 4,
        }
    }
    pub const NAMES: [&'static str; Self::COUNT] = [
        "unsupported_link_type",
        "link_truncated",
        "not_ip",
        "ip_header",
        "transport_header",
    ];
    pub fn name(&self) -> &'static str {
        Self::NAMES[self.index()]
    }
}

/// Where the link layer hands over: an EtherType-tagged payload or a bare IP packet.
enum LinkPayload<'a> {
    Ethernet(&'a [u8]),
    EtherType(u16, &'a [u8]),
    Ip(&'a [u8]),
}

/// Read the link header of `frame`.
fn link_payload<'a>(frame: &Frame<'a>) -> Result<LinkPayload<'a>, DecodeError> {
    let d = frame.data;
    match frame.link_type {
        LinkType::ETHERNET => Ok(LinkPayload::Ethernet(d)),
        // SLL: packet type u16, ARPHRD u16, addr len u16, addr [8], protocol u16 (EtherType)
        LinkType::LINUX_SLL => {
            if d.len() < SLL_LEN {
                return Err(DecodeError::LinkTruncated);
            }
            Ok(LinkPayload::EtherType(
                u16::from_be_bytes([d[14], d[15]]),
                &d[SLL_LEN..],
            ))
        }
        // SLL2: protocol u16 (EtherType), reserved u16, ifindex u32, ARPHRD u16, packet type u8,
        // addr len u8, addr [8]
        LinkType::LINUX_SLL2 => {
            if d.len() < SLL2_LEN {
                return Err(DecodeError::LinkTruncated);
            }
            Ok(LinkPayload::EtherType(u16::from_be_bytes([d[0], d[1]]), &d[SLL2_LEN..]))
        }
        // NULL: AF_ value in the capturing host's byte order; LOOP: in network byte order.
        LinkType::NULL | LinkType::LOOP => {
            if d.len() < NULL_LEN {
                return Err(DecodeError::LinkTruncated);
            }
            let le = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
            let be = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
            let af = if frame.link_type == LinkType::LOOP || le > 0xFFFF {
                be
            } else {
                le
            };
            match af {
                // AF_INET everywhere; AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS), 10 (Linux)
                2 | 24 | 28 | 30 | 10 => Ok(LinkPayload::Ip(&d[NULL_LEN..])),
                _ => Err(DecodeError::NotIp),
            }
        }
        LinkType::RAW | LinkType::RAW_ALT | LinkType::RAW_OPENBSD | LinkType::IPV4 | LinkType::IPV6 => {
            Ok(LinkPayload::Ip(d))
        }
        LinkType(other) => Err(DecodeError::UnsupportedLinkType(other)),
    }
}

/// Ethernet II header length.
pub const ETHERNET_LEN: usize = 14;
/// 802.1Q / 802.1ad tags followed before giving up on a frame.
pub const MAX_LINK_TAGS: usize = 3;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
/// 802.1Q, 802.1ad, and the pre-standard QinQ TPID.
const ETHERTYPE_VLAN: [u16; 3] = [0x8100, 0x88A8, 0x9100];

/// Decode one frame down to its transport header.
///
/// The link layer (with VLAN tags) is read here; the IP layer and the transport header are
/// etherparse's lax slices (`LaxIpSlice`, `TcpSlice`, `UdpSlice`), used one by one rather
/// than through `LaxSlicedPacket`, whose large by-value result cost a tenth of the run time.
pub fn decode<'a>(frame: &Frame<'a>) -> Result<PacketMeta<'a>, DecodeError> {
    let mut vlan = [0u16; MAX_VLAN_TAGS];
    let mut vlan_count = 0u8;
    let ip = match link_payload(frame)? {
        LinkPayload::Ip(d) => d,
        LinkPayload::Ethernet(d) => {
            // IEEE 802.3: destination [6], source [6], EtherType u16
            if d.len() < ETHERNET_LEN {
                return Err(DecodeError::LinkTruncated);
            }
            strip_tags(
                u16::from_be_bytes([d[12], d[13]]),
                &d[ETHERNET_LEN..],
                &mut vlan,
                &mut vlan_count,
            )?
        }
        LinkPayload::EtherType(t, d) => strip_tags(t, d, &mut vlan, &mut vlan_count)?,
    };
    let (sliced, _ext_err) = LaxIpSlice::from_slice(ip).map_err(|_| DecodeError::IpHeader)?;
    let (src, dst, pl, frag, declared) = match &sliced {
        LaxIpSlice::Ipv4(ip) => {
            let h = ip.header();
            let pl = ip.payload();
            // RFC 791: Total Length counts the header
            let declared = (h.total_len() as usize).saturating_sub(h.slice().len());
            let frag = pl.fragmented.then(|| FragMeta {
                id: h.identification() as u32,
                offset: h.fragments_offset().value() as u32 * 8,
                more: h.more_fragments(),
                data: pl.payload,
            });
            (Addr::v4(h.source()), Addr::v4(h.destination()), pl, frag, declared)
        }
        LaxIpSlice::Ipv6(ip) => {
            let h = ip.header();
            let pl = ip.payload();
            // RFC 8200 §3: Payload Length counts the extension headers; 0 is a jumbogram
            let declared = match h.payload_length() as usize {
                0 => pl.payload.len(),
                n => n.saturating_sub(ip.extensions().slice().len()),
            };
            let mut frag = None;
            if pl.fragmented {
                for ext in ip.extensions().clone() {
                    if let etherparse::Ipv6ExtensionSlice::Fragment(f) = ext {
                        frag = Some(FragMeta {
                            id: f.identification(),
                            offset: f.fragment_offset().value() as u32 * 8,
                            more: f.more_fragments(),
                            data: pl.payload,
                        });
                    }
                }
            }
            (Addr::v6(h.source()), Addr::v6(h.destination()), pl, frag, declared)
        }
    };
    let ip_proto = pl.ip_number.0;
    let l4 = match frag {
        Some(f) => L4::Fragment(f),
        None => transport(ip_proto, pl.payload, src.v6, declared)?,
    };
    Ok(PacketMeta {
        vlan,
        vlan_count,
        src,
        dst,
        ip_proto,
        l4,
    })
}

/// Follow 802.1Q/802.1ad tags (IEEE 802.1Q §9.6: TPID u16, then PCP/DEI/VID u16, then the
/// next EtherType) to an IP payload, recording the VLAN ids.
fn strip_tags<'a>(
    mut ethertype: u16,
    mut d: &'a [u8],
    vlan: &mut [u16; MAX_VLAN_TAGS],
    vlan_count: &mut u8,
) -> Result<&'a [u8], DecodeError> {
    let mut tags = 0;
    while ETHERTYPE_VLAN.contains(&ethertype) {
        if d.len() < 4 || tags == MAX_LINK_TAGS {
            return Err(DecodeError::LinkTruncated);
        }
        if (*vlan_count as usize) < MAX_VLAN_TAGS {
            vlan[*vlan_count as usize] = u16::from_be_bytes([d[0], d[1]]) & 0x0FFF;
            *vlan_count += 1;
        }
        ethertype = u16::from_be_bytes([d[2], d[3]]);
        d = &d[4..];
        tags += 1;
    }
    match ethertype {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => Ok(d),
        _ => Err(DecodeError::NotIp),
    }
}

/// The transport layer of an unfragmented IP payload.
/// `declared` is the IP payload length the IP header gives (at least the captured length).
fn transport(ip_proto: u8, payload: &[u8], v6: bool, declared: usize) -> Result<L4<'_>, DecodeError> {
    Ok(match IpNumber(ip_proto) {
        IpNumber::TCP => L4::Tcp(tcp_meta(
            &TcpSlice::from_slice(payload).map_err(|_| DecodeError::TransportHeader)?,
            declared,
        )),
        IpNumber::UDP => {
            let u = UdpSlice::from_slice_lax(payload).map_err(|_| DecodeError::TransportHeader)?;
            L4::Udp {
                src_port: u.source_port(),
                dst_port: u.destination_port(),
                payload: u.payload(),
            }
        }
        IpNumber::ICMP if !v6 && payload.first().is_some_and(|t| ICMP4_ERRORS.contains(t)) => {
            icmp_quoted(payload, false).map_or(L4::Other, L4::IcmpError)
        }
        IpNumber::IPV6_ICMP if v6 && payload.first().is_some_and(|t| ICMP6_ERRORS.contains(t)) => {
            icmp_quoted(payload, true).map_or(L4::Other, L4::IcmpError)
        }
        _ => L4::Other,
    })
}

fn tcp_meta<'a>(t: &TcpSlice<'a>, declared: usize) -> TcpMeta<'a> {
    let raw = t.slice();
    let payload = t.payload();
    let header_len = raw.len() - payload.len();
    TcpMeta {
        src_port: t.source_port(),
        dst_port: t.destination_port(),
        seq: t.sequence_number(),
        ack: t.acknowledgment_number(),
        flags: raw[13],
        window: t.window_size(),
        payload,
        payload_len: declared.saturating_sub(header_len).max(payload.len()) as u32,
    }
}

/// Decode the transport header of a reassembled datagram's payload.
pub fn transport_from_ip_payload(ip_proto: u8, payload: &[u8], v6: bool) -> Result<L4<'_>, DecodeError> {
    transport(ip_proto, payload, v6, payload.len())
}

/// A cheap symmetric hash of a frame's IP address pair (and VLAN ids), used to pick the worker
/// that owns the frame's flow. Only the addresses are used so that every fragment of a
/// datagram, which carries no ports, goes to the same worker as its flow. Frames without IP
/// hash to 0.
pub fn shard_hash(frame: &Frame<'_>) -> u64 {
    let mut vlan = [0u16; MAX_VLAN_TAGS];
    let mut n = 0u8;
    let ip = match link_payload(frame) {
        Ok(LinkPayload::Ip(d)) => Some(d),
        Ok(LinkPayload::Ethernet(d)) if d.len() >= ETHERNET_LEN => strip_tags(
            u16::from_be_bytes([d[12], d[13]]),
            &d[ETHERNET_LEN..],
            &mut vlan,
            &mut n,
        )
        .ok(),
        Ok(LinkPayload::EtherType(t, d)) => strip_tags(t, d, &mut vlan, &mut n).ok(),
        _ => None,
    };
    let Some(d) = ip else { return 0 };
    // The plain cases read the addresses in place; anything that might be an ICMP error (which
    // belongs with the flow it quotes) or hides its transport behind IPv6 extension headers
    // takes the full decoder, so the worker that gets the frame is the one `decode` implies.
    let (a, b) = match d.first().map(|v| v >> 4) {
        Some(4) if d.len() >= 20 && d[9] != IpNumber::ICMP.0 => (fold(&d[12..16]), fold(&d[16..20])),
        Some(6)
            if d.len() >= 40
                && matches!(
                    IpNumber(d[6]),
                    IpNumber::TCP | IpNumber::UDP | IpNumber::IPV6_FRAGMENTATION_HEADER
                ) =>
        {
            (fold(&d[8..24]), fold(&d[24..40]))
        }
        _ => match decode(frame) {
            Ok(m) => match m.l4 {
                L4::IcmpError(q) => (fold(q.src.octets()), fold(q.dst.octets())),
                _ => (fold(m.src.octets()), fold(m.dst.octets())),
            },
            Err(_) => return 0,
        },
    };
    // symmetric: the same value for both directions
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let v = (vlan[0] as u64) << 16 | vlan[1] as u64;
    mix64(lo ^ mix64(hi) ^ v.rotate_left(17))
}

fn fold(a: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in a {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// SplitMix64 finaliser.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
