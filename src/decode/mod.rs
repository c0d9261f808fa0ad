//! Layer 2 — decode: a frame's bytes sliced into a [`PacketMeta`] (link, IP, TCP/UDP).
//!
//! Link headers are read here (Ethernet with 802.1Q/802.1ad tags, Linux SLL and SLL2, raw IP,
//! BSD/OpenBSD loopback); IP and transport headers are sliced with etherparse's lax slicer, so
//! a frame cut by the snap length still yields its outer layers. Everything borrows the frame:
//! decoding never allocates. IP fragments come out as [`L4::Fragment`]; `defrag` reassembles
//! them (bounded) and [`decode_reassembled`] decodes the reassembled datagram.
//!
//! Tunnels and mirror encapsulations ([`tunnel`]: GRE, ERSPAN, VXLAN, Geneve, GTP-U, IP-in-IP,
//! MPLS, PPPoE) are removed on the way, nested up to [`MAX_TUNNEL_DEPTH`] layers: the packet
//! is the innermost IP packet, and [`PacketMeta::tunnels`] lists the layers removed, outermost
//! first. Only the frames that can be tunnels take that way: IP protocols 4, 41 and 47, UDP to
//! 4789, 6081 and 2152, EtherTypes 0x8847, 0x8848 and 0x8864; the rest decode as before.
//! Which kinds are removed is a [`Decap`] (`--no-decap`).

pub mod defrag;
pub mod tunnel;

use etherparse::{IpNumber, LaxIpSlice, TcpSlice, UdpSlice};

pub use tunnel::{Decap, MAX_TUNNEL_DEPTH, Tunnel, TunnelKind, Tunnels};

use crate::capture::{Frame, LinkType};
use defrag::{DefragLimits, Defragmenter, FragKey, FragOutcome};

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
    /// The encapsulations removed to reach this packet, outermost first (empty for plain
    /// traffic); `src`, `dst` and `l4` are the innermost packet's.
    pub tunnels: Tunnels,
}

impl PacketMeta<'_> {
    /// The IP fragment reassembly zone of this packet: its VLAN ids and tunnel layers, so that
    /// equal addresses on different segments or in different tunnels are never mixed.
    pub fn frag_zone(&self) -> u32 {
        let zone = self.vlan[0] as u32 | (self.vlan[1] as u32) << 16;
        if self.tunnels.is_empty() {
            zone
        } else {
            zone ^ self.tunnels.digest()
        }
    }
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
    /// A tunnel header (of this kind) is cut short or malformed.
    TunnelHeader(TunnelKind),
    /// More than [`MAX_TUNNEL_DEPTH`] nested tunnels, or fragments inside a datagram that was
    /// itself reassembled from fragments inside another.
    TunnelTooDeep,
}

impl DecodeError {
    pub const COUNT: usize = 7;
    pub fn index(&self) -> usize {
        match self {
            DecodeError::UnsupportedLinkType(_) => 0,
            DecodeError::LinkTruncated => 1,
            DecodeError::NotIp => 2,
            DecodeError::IpHeader => 3,
            DecodeError::TransportHeader => 4,
            DecodeError::TunnelHeader(_) => 5,
            DecodeError::TunnelTooDeep => 6,
        }
    }
    pub const NAMES: [&'static str; Self::COUNT] = [
        "unsupported_link_type",
        "link_truncated",
        "not_ip",
        "ip_header",
        "transport_header",
        "tunnel_header",
        "tunnel_too_deep",
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

/// The fragment header among an IPv6 packet's extension headers, walked here with bounds checks:
/// etherparse 0.21's `Ipv6ExtensionSliceIter` reads past its slice when the lax parse stopped
/// on an error after a Fragment header (found by the `decode` fuzz target).
///
/// RFC 8200 §4.3-4.5: Hop-by-Hop, Routing and Destination Options are (Hdr Ext Len + 1) * 8
/// bytes; Fragment is 8 bytes (Next Header, Reserved, Fragment Offset:13 Res:2 M:1,
/// Identification:32); RFC 4302 §2.2: AH is (Payload Len + 2) * 4 bytes.
fn ipv6_fragment<'a>(mut nh: IpNumber, mut rest: &[u8], data: &'a [u8]) -> Option<FragMeta<'a>> {
    let mut found = None;
    loop {
        let Some(&n) = rest.get(1) else { return found };
        let len = match nh {
            IpNumber::IPV6_HEADER_HOP_BY_HOP | IpNumber::IPV6_ROUTE_HEADER | IpNumber::IPV6_DESTINATION_OPTIONS => {
                (n as usize + 1) * 8
            }
            IpNumber::AUTHENTICATION_HEADER => (n as usize + 2) * 4,
            IpNumber::IPV6_FRAGMENTATION_HEADER => 8,
            _ => return found,
        };
        let Some(hdr) = rest.get(..len) else { return found };
        if nh == IpNumber::IPV6_FRAGMENTATION_HEADER {
            let fo = u16::from_be_bytes([hdr[2], hdr[3]]);
            found = Some(FragMeta {
                id: u32::from_be_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]),
                offset: (fo >> 3) as u32 * 8,
                more: fo & 1 != 0,
                data,
            });
        }
        nh = IpNumber(hdr[0]);
        rest = &rest[len..];
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

/// Decode one frame down to its transport header, removing every tunnel kind.
pub fn decode<'a>(frame: &Frame<'a>) -> Result<PacketMeta<'a>, DecodeError> {
    decode_with(frame, Decap::ALL)
}

/// Decode one frame down to its (innermost) transport header, removing the tunnel kinds
/// `decap` names.
///
/// The link layer (with VLAN tags) is read here; the IP layer and the transport header are
/// etherparse's lax slices (`LaxIpSlice`, `TcpSlice`, `UdpSlice`), used one by one rather
/// than through `LaxSlicedPacket`, whose large by-value result cost a tenth of the run time.
/// Plain traffic takes the same steps as before tunnels were known: one cheap test of the
/// EtherType, IP protocol and UDP port sends a frame that can be a tunnel to the walk that
/// removes the layers (`decode_tunnelled`), which starts over from the link header.
pub fn decode_with<'a>(frame: &Frame<'a>, decap: Decap) -> Result<PacketMeta<'a>, DecodeError> {
    let mut vlan = [0u16; MAX_VLAN_TAGS];
    let mut vlan_count = 0u8;
    let (ethertype, d) = match link_payload(frame)? {
        LinkPayload::Ip(d) => (None, d),
        LinkPayload::Ethernet(d) => {
            // IEEE 802.3: destination [6], source [6], EtherType u16
            if d.len() < ETHERNET_LEN {
                return Err(DecodeError::LinkTruncated);
            }
            (Some(u16::from_be_bytes([d[12], d[13]])), &d[ETHERNET_LEN..])
        }
        LinkPayload::EtherType(t, d) => (Some(t), d),
    };
    let ip = match ethertype {
        None => d,
        Some(t) => match strip_tags(t, d, &mut vlan, &mut vlan_count)? {
            (ETHERTYPE_IPV4 | ETHERTYPE_IPV6, d) => d,
            (tunnel::ETHERTYPE_MPLS_UC | tunnel::ETHERTYPE_MPLS_MC, _) if decap.has(TunnelKind::Mpls) => {
                return decode_tunnelled(frame, decap);
            }
            (tunnel::ETHERTYPE_PPPOE_SESSION, _) if decap.has(TunnelKind::Pppoe) => {
                return decode_tunnelled(frame, decap);
            }
            _ => return Err(DecodeError::NotIp),
        },
    };
    let IpLayer {
        src,
        dst,
        proto: ip_proto,
        payload,
        frag,
        declared,
    } = ip_layer(ip)?;
    let l4 = match frag {
        Some(f) => L4::Fragment(f),
        None if tunnel_candidate(ip_proto, payload, decap) => return decode_tunnelled(frame, decap),
        None => transport(ip_proto, payload, src.v6, declared)?,
    };
    Ok(PacketMeta {
        vlan,
        vlan_count,
        src,
        dst,
        ip_proto,
        l4,
        tunnels: Tunnels::EMPTY,
    })
}

/// Can this IP payload be a tunnel `decap` removes? IP protocols 4, 41, 47; UDP to 4789, 6081,
/// 2152.
#[inline(always)]
fn tunnel_candidate(proto: u8, payload: &[u8], decap: Decap) -> bool {
    match proto {
        4 | 41 => decap.has(TunnelKind::Ipip),
        47 => decap.has(TunnelKind::Gre) || decap.has(TunnelKind::Erspan),
        17 => payload.len() >= 8 && decap.udp_ports(tunnel::be16(payload, 0), tunnel::be16(payload, 2)),
        _ => false,
    }
}

/// [`decode_with`] for a frame that can be a tunnel: the whole walk, layer by layer.
#[cold]
#[inline(never)]
fn decode_tunnelled<'a>(frame: &Frame<'a>, decap: Decap) -> Result<PacketMeta<'a>, DecodeError> {
    let mut w = Walk::new(decap);
    let ip = match link_payload(frame)? {
        LinkPayload::Ip(d) => d,
        LinkPayload::Ethernet(d) => ethernet(d, &mut w)?,
        LinkPayload::EtherType(t, d) => link_to_ip(t, d, &mut w)?,
    };
    walk_ip(ip, &mut w)
}

/// Decode the payload of a datagram reassembled from the fragments `base` describes (its
/// addresses, protocol, VLANs and tunnels): its transport header, or, when the datagram is a
/// tunnel packet, the packet inside it (which may be a fragment again).
pub fn decode_reassembled<'p>(
    base: &PacketMeta<'_>,
    payload: &'p [u8],
    decap: Decap,
) -> Result<PacketMeta<'p>, DecodeError> {
    let mut w = Walk {
        vlan: base.vlan,
        vlan_count: base.vlan_count,
        tunnels: base.tunnels,
        decap,
    };
    match tunnel_step(base.ip_proto, payload, base.src, base.dst, &mut w)? {
        Step::Inner(ip) => walk_ip(ip, &mut w),
        Step::Not => Ok(PacketMeta {
            vlan: w.vlan,
            vlan_count: w.vlan_count,
            src: base.src,
            dst: base.dst,
            ip_proto: base.ip_proto,
            l4: transport(base.ip_proto, payload, base.src.v6, payload.len())?,
            tunnels: w.tunnels,
        }),
    }
}

/// What the decoder gathers on its way in.
struct Walk {
    vlan: [u16; MAX_VLAN_TAGS],
    vlan_count: u8,
    tunnels: Tunnels,
    decap: Decap,
}

impl Walk {
    fn new(decap: Decap) -> Walk {
        Walk {
            vlan: [0; MAX_VLAN_TAGS],
            vlan_count: 0,
            tunnels: Tunnels::EMPTY,
            decap,
        }
    }

    fn push(&mut self, t: Tunnel) -> Result<(), DecodeError> {
        if self.tunnels.push(t) {
            Ok(())
        } else {
            Err(DecodeError::TunnelTooDeep)
        }
    }
}

/// One IP header, sliced by etherparse's lax slicer: the addresses, the protocol and bytes of
/// its payload, the fragment it is (if it is one), and the payload length the header declares
/// (more than `payload.len()` when the snap length cut the frame).
struct IpLayer<'a> {
    src: Addr,
    dst: Addr,
    proto: u8,
    payload: &'a [u8],
    frag: Option<FragMeta<'a>>,
    declared: usize,
}

#[inline(always)]
fn ip_layer(ip: &[u8]) -> Result<IpLayer<'_>, DecodeError> {
    let (sliced, _ext_err) = LaxIpSlice::from_slice(ip).map_err(|_| DecodeError::IpHeader)?;
    Ok(match &sliced {
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
            IpLayer {
                src: Addr::v4(h.source()),
                dst: Addr::v4(h.destination()),
                proto: pl.ip_number.0,
                payload: pl.payload,
                frag,
                declared,
            }
        }
        LaxIpSlice::Ipv6(ip) => {
            let h = ip.header();
            let pl = ip.payload();
            // RFC 8200 §3: Payload Length counts the extension headers; 0 is a jumbogram
            let declared = match h.payload_length() as usize {
                0 => pl.payload.len(),
                n => n.saturating_sub(ip.extensions().slice().len()),
            };
            let frag = if pl.fragmented {
                ipv6_fragment(h.next_header(), ip.extensions().slice(), pl.payload)
            } else {
                None
            };
            IpLayer {
                src: Addr::v6(h.source()),
                dst: Addr::v6(h.destination()),
                proto: pl.ip_number.0,
                payload: pl.payload,
                frag,
                declared,
            }
        }
    })
}

/// IP layers from `ip` inwards: each IP header that carries a tunnel this walk removes is
/// passed through; the innermost one gives the packet.
fn walk_ip<'a>(mut ip: &'a [u8], w: &mut Walk) -> Result<PacketMeta<'a>, DecodeError> {
    loop {
        let IpLayer {
            src,
            dst,
            proto: ip_proto,
            payload,
            frag,
            declared,
        } = ip_layer(ip)?;
        let l4 = match frag {
            Some(f) => L4::Fragment(f),
            None => match tunnel_step(ip_proto, payload, src, dst, w)? {
                Step::Inner(inner) => {
                    ip = inner;
                    continue;
                }
                Step::Not => transport(ip_proto, payload, src.v6, declared)?,
            },
        };
        return Ok(PacketMeta {
            vlan: w.vlan,
            vlan_count: w.vlan_count,
            src,
            dst,
            ip_proto,
            l4,
            tunnels: w.tunnels,
        });
    }
}

/// Where an IP payload leads.
enum Step<'a> {
    /// A tunnel was removed: the next IP header starts here.
    Inner(&'a [u8]),
    /// Not a tunnel this walk removes: the payload is the packet's transport.
    Not,
}

/// Is the IP payload (`proto`, from `src` to `dst`) a tunnel to remove? Only IP protocols 4,
/// 41, 47 and UDP to the tunnel ports look further; everything else is `Step::Not` at once.
#[inline]
fn tunnel_step<'a>(proto: u8, payload: &'a [u8], src: Addr, dst: Addr, w: &mut Walk) -> Result<Step<'a>, DecodeError> {
    match proto {
        // RFC 2003 (IPv4 in IP), RFC 4213 §3.5 (IPv6 in IPv4), RFC 2473 (in IPv6)
        4 | 41 if w.decap.has(TunnelKind::Ipip) => {
            w.push(Tunnel::new(TunnelKind::Ipip, Some((src, dst)), Some(proto as u32)))?;
            Ok(Step::Inner(payload))
        }
        47 => gre(payload, src, dst, w),
        17 if payload.len() >= 8 && w.decap.udp_ports(tunnel::be16(payload, 0), tunnel::be16(payload, 2)) => {
            udp_tunnel(payload, src, dst, w)
        }
        _ => Ok(Step::Not),
    }
}

/// GRE (RFC 2784/2890) and ERSPAN in it (draft-foschiano-erspan-03).
fn gre<'a>(payload: &'a [u8], src: Addr, dst: Addr, w: &mut Walk) -> Result<Step<'a>, DecodeError> {
    use tunnel::{ETHERTYPE_ERSPAN_I_II, ETHERTYPE_ERSPAN_III, ETHERTYPE_TEB};
    if !w.decap.has(TunnelKind::Gre) && !w.decap.has(TunnelKind::Erspan) {
        return Ok(Step::Not);
    }
    let g = match tunnel::parse_gre(payload) {
        Ok(Some(g)) => g,
        Ok(None) => return Ok(Step::Not),
        Err(_) => {
            return if w.decap.has(TunnelKind::Gre) {
                Err(DecodeError::TunnelHeader(TunnelKind::Gre))
            } else {
                Ok(Step::Not)
            };
        }
    };
    let rest = &payload[g.header_len..];
    let outer = Some((src, dst));
    match g.protocol {
        ETHERTYPE_ERSPAN_I_II | ETHERTYPE_ERSPAN_III => {
            if !w.decap.has(TunnelKind::Erspan) {
                return Ok(Step::Not);
            }
            let e = tunnel::parse_erspan(g.protocol, g.seq.is_some(), rest)
                .map_err(|_| DecodeError::TunnelHeader(TunnelKind::Erspan))?;
            let mut t = Tunnel::new(TunnelKind::Erspan, outer, Some(e.session as u32));
            t.key = g.key;
            t.version = e.version;
            w.push(t)?;
            ethernet(&rest[e.header_len..], w).map(Step::Inner)
        }
        // PPTP (RFC 2637): PPP, of which only IPv4 and IPv6 frames carry a packet to follow
        tunnel::GRE_PPP if w.decap.has(TunnelKind::Gre) => match tunnel::ppp_ip_offset(rest) {
            Some(at) => {
                w.push(Tunnel::new(TunnelKind::Gre, outer, g.key))?;
                Ok(Step::Inner(&rest[at..]))
            }
            None => Ok(Step::Not),
        },
        ETHERTYPE_TEB | ETHERTYPE_IPV4 | ETHERTYPE_IPV6 | tunnel::ETHERTYPE_MPLS_UC | tunnel::ETHERTYPE_MPLS_MC
            if w.decap.has(TunnelKind::Gre) =>
        {
            w.push(Tunnel::new(TunnelKind::Gre, outer, g.key))?;
            if g.protocol == ETHERTYPE_TEB {
                ethernet(rest, w).map(Step::Inner)
            } else {
                link_to_ip(g.protocol, rest, w).map(Step::Inner)
            }
        }
        // keepalives, PPP, WCCP, ...: the GRE packet is the packet
        _ => Ok(Step::Not),
    }
}

/// VXLAN (RFC 7348), Geneve (RFC 8926), GTP-U (3GPP TS 29.281), by UDP destination port;
/// Teredo (RFC 4380) to or from port 3544, AYIYA (draft-massar-v6ops-ayiya) to or from 5072.
fn udp_tunnel<'a>(payload: &'a [u8], src: Addr, dst: Addr, w: &mut Walk) -> Result<Step<'a>, DecodeError> {
    let Ok(u) = UdpSlice::from_slice_lax(payload) else {
        return Ok(Step::Not);
    };
    let d = u.payload();
    let outer = Some((src, dst));
    match u.destination_port() {
        port if !w.decap.udp_port(port) => {
            // Teredo's or AYIYA's port, at either end, brought the datagram here
            let ports = [u.source_port(), port];
            if ports.contains(&tunnel::AYIYA_PORT)
                && w.decap.has(TunnelKind::Ayiya)
                && let Some((at, next)) = tunnel::ayiya_payload(d)
            {
                w.push(Tunnel::new(TunnelKind::Ayiya, outer, Some(next as u32)))?;
                return Ok(Step::Inner(&d[at..]));
            }
            if ports.contains(&tunnel::TEREDO_PORT)
                && w.decap.has(TunnelKind::Teredo)
                && let Some(at) = tunnel::teredo_ipv6_offset(d)
            {
                w.push(Tunnel::new(TunnelKind::Teredo, outer, None))?;
                return Ok(Step::Inner(&d[at..]));
            }
            Ok(Step::Not)
        }
        tunnel::VXLAN_PORT => {
            let vni = tunnel::parse_vxlan(d).map_err(|_| DecodeError::TunnelHeader(TunnelKind::Vxlan))?;
            w.push(Tunnel::new(TunnelKind::Vxlan, outer, Some(vni)))?;
            ethernet(&d[tunnel::VXLAN_LEN..], w).map(Step::Inner)
        }
        tunnel::GENEVE_PORT => {
            let g = tunnel::parse_geneve(d).map_err(|_| DecodeError::TunnelHeader(TunnelKind::Geneve))?;
            let rest = &d[g.header_len..];
            match g.protocol {
                tunnel::ETHERTYPE_TEB => {
                    w.push(Tunnel::new(TunnelKind::Geneve, outer, Some(g.vni)))?;
                    ethernet(rest, w).map(Step::Inner)
                }
                ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => {
                    w.push(Tunnel::new(TunnelKind::Geneve, outer, Some(g.vni)))?;
                    Ok(Step::Inner(rest))
                }
                _ => Ok(Step::Not),
            }
        }
        _ => {
            let g = tunnel::parse_gtpu(d).map_err(|_| DecodeError::TunnelHeader(TunnelKind::Gtpu))?;
            let rest = &d[g.header_len..];
            // signalling (echo, error indication, end marker) and non-IP PDUs stay UDP
            if g.message_type != tunnel::GTPU_G_PDU || !matches!(rest.first().map(|b| b >> 4), Some(4 | 6)) {
                return Ok(Step::Not);
            }
            w.push(Tunnel::new(TunnelKind::Gtpu, outer, Some(g.teid)))?;
            Ok(Step::Inner(rest))
        }
    }
}

/// An Ethernet II frame (IEEE 802.3: destination [6], source [6], EtherType u16) down to IP.
fn ethernet<'a>(d: &'a [u8], w: &mut Walk) -> Result<&'a [u8], DecodeError> {
    if d.len() < ETHERNET_LEN {
        return Err(DecodeError::LinkTruncated);
    }
    link_to_ip(u16::from_be_bytes([d[12], d[13]]), &d[ETHERNET_LEN..], w)
}

/// From an EtherType and what follows it, through VLAN tags, MPLS and PPPoE, to an IP header.
fn link_to_ip<'a>(mut ethertype: u16, mut d: &'a [u8], w: &mut Walk) -> Result<&'a [u8], DecodeError> {
    loop {
        (ethertype, d) = strip_tags(ethertype, d, &mut w.vlan, &mut w.vlan_count)?;
        match ethertype {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => return Ok(d),
            tunnel::ETHERTYPE_MPLS_UC | tunnel::ETHERTYPE_MPLS_MC if w.decap.has(TunnelKind::Mpls) => {
                let m = tunnel::parse_mpls(d).map_err(|_| DecodeError::TunnelHeader(TunnelKind::Mpls))?;
                let mut t = Tunnel::new(TunnelKind::Mpls, None, None);
                t.labels = m.labels;
                t.label_count = m.depth;
                w.push(t)?;
                let rest = &d[m.header_len..];
                match m.payload {
                    tunnel::MplsPayload::Ipv4 | tunnel::MplsPayload::Ipv6 => return Ok(rest),
                    tunnel::MplsPayload::Ethernet => {
                        if rest.len() < ETHERNET_LEN {
                            return Err(DecodeError::LinkTruncated);
                        }
                        ethertype = u16::from_be_bytes([rest[12], rest[13]]);
                        d = &rest[ETHERNET_LEN..];
                    }
                }
            }
            tunnel::ETHERTYPE_PPPOE_SESSION if w.decap.has(TunnelKind::Pppoe) => {
                let p = tunnel::parse_pppoe_session(d).map_err(|_| DecodeError::TunnelHeader(TunnelKind::Pppoe))?;
                if p.ppp_protocol != tunnel::PPP_IPV4 && p.ppp_protocol != tunnel::PPP_IPV6 {
                    // LCP, IPCP, authentication: PPP's own traffic
                    return Err(DecodeError::NotIp);
                }
                w.push(Tunnel::new(TunnelKind::Pppoe, None, Some(p.session as u32)))?;
                return Ok(&d[tunnel::PPPOE_LEN..]);
            }
            _ => return Err(DecodeError::NotIp),
        }
    }
}

/// Follow 802.1Q/802.1ad tags (IEEE 802.1Q §9.6: TPID u16, then PCP/DEI/VID u16, then the
/// next EtherType), recording the VLAN ids; returns the EtherType after them and its payload.
#[inline]
fn strip_tags<'a>(
    mut ethertype: u16,
    mut d: &'a [u8],
    vlan: &mut [u16; MAX_VLAN_TAGS],
    vlan_count: &mut u8,
) -> Result<(u16, &'a [u8]), DecodeError> {
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
    Ok((ethertype, d))
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

/// Decode the transport header of a reassembled datagram's payload (no tunnel removed).
pub fn transport_from_ip_payload(ip_proto: u8, payload: &[u8], v6: bool) -> Result<L4<'_>, DecodeError> {
    transport(ip_proto, payload, v6, payload.len())
}

/// A cheap symmetric hash of a frame's IP address pair (and VLAN ids), used to pick the worker
/// that owns the frame's flow: the addresses [`decode`] reports (the innermost packet's for a
/// tunnel; the quoted packet's for an ICMP error). Only the addresses are used so that every
/// fragment of a datagram, which carries no ports, goes to the same worker as its flow.
/// Frames without IP hash to 0. [`Sharder`] adds what a stateless hash cannot know: where the
/// fragments of a fragmented tunnel packet go.
pub fn shard_hash(frame: &Frame<'_>) -> u64 {
    shard_hash_with(frame, Decap::ALL)
}

/// [`shard_hash`] for a decoder that removes the tunnel kinds `decap` names.
pub fn shard_hash_with(frame: &Frame<'_>, decap: Decap) -> u64 {
    match plain_addrs(frame, decap) {
        Some(Ok(h)) => h,
        Some(Err(())) => 0,
        None => match decode_with(frame, decap) {
            Ok(m) => meta_hash(&m),
            Err(_) => 0,
        },
    }
}

/// The hash of a decoded packet's flow addresses (the quoted packet's for an ICMP error).
fn meta_hash(m: &PacketMeta<'_>) -> u64 {
    let (a, b) = match m.l4 {
        L4::IcmpError(q) => (fold(q.src.octets()), fold(q.dst.octets())),
        _ => (fold(m.src.octets()), fold(m.dst.octets())),
    };
    pair_hash(a, b, &m.vlan)
}

/// Symmetric: the same value for both directions.
#[inline]
fn pair_hash(a: u64, b: u64, vlan: &[u16; MAX_VLAN_TAGS]) -> u64 {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let v = (vlan[0] as u64) << 16 | vlan[1] as u64;
    mix64(lo ^ mix64(hi) ^ v.rotate_left(17))
}

/// The hash of the plain cases, read in place: `Some(Ok)` for an IP packet that is not a
/// tunnel, an ICMP error or hidden behind IPv6 extension headers; `Some(Err)` for a frame
/// that is not IP; `None` when the full decoder must decide (so the worker that gets the frame
/// is the one `decode` implies).
#[inline]
fn plain_addrs(frame: &Frame<'_>, decap: Decap) -> Option<Result<u64, ()>> {
    let mut vlan = [0u16; MAX_VLAN_TAGS];
    let mut n = 0u8;
    let (et, d) = match link_payload(frame) {
        Ok(LinkPayload::Ip(d)) => (None, d),
        Ok(LinkPayload::Ethernet(d)) if d.len() >= ETHERNET_LEN => {
            (Some(u16::from_be_bytes([d[12], d[13]])), &d[ETHERNET_LEN..])
        }
        Ok(LinkPayload::EtherType(t, d)) => (Some(t), d),
        _ => return Some(Err(())),
    };
    let d = match et {
        None => d,
        Some(t) => match strip_tags(t, d, &mut vlan, &mut n) {
            Ok((ETHERTYPE_IPV4 | ETHERTYPE_IPV6, d)) => d,
            Ok((tunnel::ETHERTYPE_MPLS_UC | tunnel::ETHERTYPE_MPLS_MC, _)) if decap.has(TunnelKind::Mpls) => {
                return None;
            }
            Ok((tunnel::ETHERTYPE_PPPOE_SESSION, _)) if decap.has(TunnelKind::Pppoe) => return None,
            _ => return Some(Err(())),
        },
    };
    let (a, b) = match d.first().map(|v| v >> 4) {
        Some(4) if d.len() >= 20 => {
            let frag = u16::from_be_bytes([d[6], d[7]]) & 0x3FFF != 0;
            let plain = match d[9] {
                // ICMP (errors go with the quoted flow), IP-in-IP, GRE; UDP fragments (the
                // later ones may belong to a tunnel packet: `Sharder` routes them)
                1 | 4 | 41 | 47 => false,
                17 if frag => false,
                17 => {
                    let ihl = (d[0] & 0x0F) as usize * 4;
                    // a header shorter than 20 bytes is the decoder's to refuse (the port
                    // would be read from the addresses, differently in each direction)
                    if ihl < 20 {
                        return None;
                    }
                    match d.get(ihl..ihl + 4) {
                        Some(p) => !decap.udp_ports(tunnel::be16(p, 0), tunnel::be16(p, 2)),
                        None => true,
                    }
                }
                _ => true,
            };
            if !plain {
                return None;
            }
            (fold(&d[12..16]), fold(&d[16..20]))
        }
        Some(6) if d.len() >= 40 => {
            let plain = match IpNumber(d[6]) {
                IpNumber::TCP => true,
                IpNumber::UDP => d.len() < 44 || !decap.udp_ports(tunnel::be16(d, 40), tunnel::be16(d, 42)),
                _ => false,
            };
            if !plain {
                return None;
            }
            (fold(&d[8..24]), fold(&d[24..40]))
        }
        _ => return None,
    };
    Some(Ok(pair_hash(a, b, &vlan)))
}

/// Slots of [`Sharder`]'s fragment routes (a direct-mapped table: a new route overwrites the
/// one in its slot).
pub const FRAG_ROUTE_SLOTS: usize = 4096;

/// Where the fragments of one fragmented datagram go.
#[derive(Clone, Copy, PartialEq, Eq)]
struct FragRoute {
    src: Addr,
    dst: Addr,
    id: u32,
    zone: u32,
    hash: u64,
}

/// The reader's worker choice: [`shard_hash_with`], plus routes for fragmented tunnel
/// packets.
///
/// A flow inside a tunnel belongs to the worker its inner addresses hash to. When the tunnel
/// packet itself (the outer IP datagram) is fragmented, only its first fragment shows the
/// inner headers; the others carry the outer IP header alone. The first fragment (offset 0)
/// of a datagram that can be a tunnel (IP protocol 4, 41, 47, or UDP to a tunnel port) is
/// decoded as far as it goes: when it shows a tunnel and the inner addresses, it goes where
/// they hash, and a route (outer addresses, identification, zone → that hash) sends the later
/// fragments of the same datagram after it. A route lives in a slot of a fixed table of
/// [`FRAG_ROUTE_SLOTS`] until another datagram takes the slot.
///
/// Bounded limitation: a fragment that arrives *before* its datagram's first fragment (or
/// after its route was overwritten), and the fragments of a datagram whose first fragment is
/// too short to show the inner addresses, go by the outer addresses. With more than one worker
/// such a datagram is then split between two workers and is not reassembled (counted in
/// `ip_fragments.dropped` by the timeout), where one worker would have reassembled it. Linux
/// and most routers send fragments in order, the first first.
pub struct Sharder {
    decap: Decap,
    routes: Box<[Option<FragRoute>]>,
}

impl Sharder {
    pub fn new(decap: Decap) -> Sharder {
        Sharder {
            decap,
            routes: vec![None; FRAG_ROUTE_SLOTS].into_boxed_slice(),
        }
    }

    /// The hash of `frame`'s flow (see the type's documentation).
    pub fn hash(&mut self, frame: &Frame<'_>) -> u64 {
        match plain_addrs(frame, self.decap) {
            Some(Ok(h)) => return h,
            Some(Err(())) => return 0,
            None => {}
        }
        let Ok(m) = decode_with(frame, self.decap) else {
            return 0;
        };
        let L4::Fragment(f) = m.l4 else { return meta_hash(&m) };
        let own = meta_hash(&m);
        if !matches!(m.ip_proto, 4 | 41 | 47 | 17) || self.decap == Decap::NONE {
            return own;
        }
        let route = FragRoute {
            src: m.src,
            dst: m.dst,
            id: f.id,
            zone: m.frag_zone() ^ m.ip_proto as u32,
            hash: 0,
        };
        let slot = (mix64(
            fold(m.src.octets()) ^ fold(m.dst.octets()).rotate_left(29) ^ (route.id as u64) << 32 ^ route.zone as u64,
        ) % FRAG_ROUTE_SLOTS as u64) as usize;
        if f.offset != 0 {
            return match self.routes[slot] {
                Some(r) if FragRoute { hash: 0, ..r } == route => r.hash,
                _ => own,
            };
        }
        // the first fragment: the inner packet as far as this piece shows it
        let inner = match decode_reassembled(&m, f.data, self.decap) {
            Ok(i) if i.tunnels.len() > m.tunnels.len() => meta_hash(&i),
            _ => return own,
        };
        if inner != own {
            self.routes[slot] = Some(FragRoute { hash: inner, ..route });
        }
        inner
    }
}

/// The key under which `defrag` reassembles the datagram a fragment belongs to.
pub fn frag_key(meta: &PacketMeta<'_>, f: &FragMeta<'_>) -> FragKey {
    let zone = meta.frag_zone();
    if meta.src.v6 {
        FragKey::v6(meta.src.bytes, meta.dst.bytes, meta.ip_proto, f.id, zone)
    } else {
        let (s, d) = (&meta.src.bytes, &meta.dst.bytes);
        FragKey::v4(
            [s[0], s[1], s[2], s[3]],
            [d[0], d[1], d[2], d[3]],
            meta.ip_proto,
            f.id as u16,
            zone,
        )
    }
}

/// What one fragment led to ([`Reassembler::fragment`]).
#[derive(Debug)]
pub struct FragResult<'p> {
    /// Datagrams this fragment completed (0, 1, or 2 when it completed a tunnel packet whose
    /// inner fragment then completed an inner datagram).
    pub completed: u32,
    /// Fragments refused or datagrams discarded on the way (see `defrag`).
    pub dropped: u32,
    /// The packet a completed datagram decoded to, with the frames it stands for and their
    /// summed wire length; or why it did not decode.
    pub packet: Option<Result<(PacketMeta<'p>, u32, u64), DecodeError>>,
}

/// IP fragment reassembly for the decoder: one [`Defragmenter`] for the fragments found in
/// frames (of the frame's IP packet, or of a packet inside an unfragmented tunnel) and those
/// found inside a tunnel packet that was itself reassembled from fragments (an inner datagram
/// fragmented before it entered a tunnel whose packets were fragmented again). Both go to the
/// same table, under the same key (the inner addresses and the tunnel layers in the zone), so
/// the pieces of one inner datagram meet whichever way each travelled. A fragment found inside
/// a reassembled datagram is copied once into a buffer kept for the purpose (it borrows the
/// defragmenter's output); fragments found a third level down are a
/// [`DecodeError::TunnelTooDeep`].
pub struct Reassembler {
    defrag: Defragmenter,
    decap: Decap,
    /// The inner fragment of a reassembled tunnel packet, while it is added.
    scratch: Vec<u8>,
}

impl Reassembler {
    pub fn new(limits: DefragLimits, decap: Decap) -> Reassembler {
        Reassembler {
            defrag: Defragmenter::new(limits),
            decap,
            scratch: Vec::new(),
        }
    }

    /// Add the fragment `f` of the packet `meta` describes, from a frame of `wire_len` bytes
    /// at `ts_ns`. A packet returned borrows the reassembler until the next call.
    pub fn fragment<'s>(
        &'s mut self,
        meta: &PacketMeta<'_>,
        f: FragMeta<'_>,
        ts_ns: u64,
        wire_len: u32,
    ) -> FragResult<'s> {
        let mut r = FragResult {
            completed: 0,
            dropped: 0,
            packet: None,
        };
        let (frames, wire) = match self
            .defrag
            .add(frag_key(meta, &f), f.offset, f.more, f.data, ts_ns, wire_len)
        {
            FragOutcome::Held => return r,
            FragOutcome::Dropped(_) => {
                r.dropped = 1;
                return r;
            }
            FragOutcome::Complete { frames, wire_bytes, .. } => (frames, wire_bytes),
        };
        r.completed = 1;
        // Is there a fragment inside? Then it is copied out and added to the same table;
        // else the datagram is decoded again below, borrowing the table's output for the caller.
        let inner = match decode_reassembled(meta, self.defrag.last_payload(), self.decap) {
            Ok(m) => match m.l4 {
                L4::Fragment(f2) => {
                    self.scratch.clear();
                    self.scratch.extend_from_slice(f2.data);
                    Some((frag_key(&m, &f2), f2.offset, f2.more, PacketMeta { l4: L4::Other, ..m }))
                }
                _ => None,
            },
            Err(_) => None,
        };
        let Some((key, offset, more, base)) = inner else {
            r.packet =
                Some(decode_reassembled(meta, self.defrag.last_payload(), self.decap).map(|m| (m, frames, wire)));
            return r;
        };
        match self
            .defrag
            .add_frames(key, offset, more, &self.scratch, ts_ns, frames, wire)
        {
            FragOutcome::Held => {}
            FragOutcome::Dropped(_) => r.dropped = 1,
            FragOutcome::Complete {
                payload,
                frames,
                wire_bytes,
                ..
            } => {
                r.completed = 2;
                r.packet = Some(match decode_reassembled(&base, payload, self.decap) {
                    Ok(m2) if matches!(m2.l4, L4::Fragment(_)) => Err(DecodeError::TunnelTooDeep),
                    Ok(m2) => Ok((m2, frames, wire_bytes)),
                    Err(e) => Err(e),
                });
            }
        }
        r
    }

    /// Drop the datagrams past the timeout at `now_ns`; returns how many.
    pub fn expire(&mut self, now_ns: u64) -> usize {
        self.defrag.expire(now_ns)
    }

    /// The defragmenter's counters and gauges.
    pub fn stats(&self) -> defrag::DefragStats {
        self.defrag.stats()
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{CaptureParser, Detect, Next};
    use defrag::DefragLimits;

    // Real captures (fixtures/README.md); the expected values are tshark 4.0.17's.
    const LOOPBACK: &[u8] = include_bytes!("../../fixtures/pcap/loopback-tcp-udp.pcap");
    const SLL: &[u8] = include_bytes!("../../fixtures/pcap/linux-sll.pcap");
    const SLL2: &[u8] = include_bytes!("../../fixtures/pcap/linux-sll2.pcap");
    const RAW: &[u8] = include_bytes!("../../fixtures/pcap/raw-ip.pcap");
    const VLAN: &[u8] = include_bytes!("../../fixtures/pcap/vlan-8021q-qinq.pcap");
    const IPV6: &[u8] = include_bytes!("../../fixtures/pcap/ipv6-tcp-udp.pcap");
    const NANO: &[u8] = include_bytes!("../../fixtures/pcap/loopback-nanosecond.pcap");
    const MULTI: &[u8] = include_bytes!("../../fixtures/pcap/multi-interface.pcapng");

    // fixtures/make-tunnel-fixtures.sh: curl -> http.server (10.77.0.1 -> 10.77.0.2:8080)
    // through each encapsulation, captured on the underlay (192.0.2.1 <-> 192.0.2.2)
    const T_VXLAN: &[u8] = include_bytes!("../../fixtures/pcap/tunnel-vxlan.pcap");
    const T_GRE: &[u8] = include_bytes!("../../fixtures/pcap/tunnel-gre.pcap");
    const T_ERSPAN: &[u8] = include_bytes!("../../fixtures/pcap/tunnel-erspan.pcap");
    const T_GENEVE: &[u8] = include_bytes!("../../fixtures/pcap/tunnel-geneve.pcap");
    const T_GTPU: &[u8] = include_bytes!("../../fixtures/pcap/tunnel-gtpu.pcap");
    const T_IPIP: &[u8] = include_bytes!("../../fixtures/pcap/tunnel-ipip.pcap");
    const T_MPLS: &[u8] = include_bytes!("../../fixtures/pcap/tunnel-mpls.pcap");
    const T_PPPOE: &[u8] = include_bytes!("../../fixtures/pcap/tunnel-pppoe.pcap");
    const T_OUTER_FRAG: &[u8] = include_bytes!("../../fixtures/pcap/tunnel-outer-frag.pcap");
    const T_INNER_FRAG: &[u8] = include_bytes!("../../fixtures/pcap/tunnel-inner-frag.pcap");

    const TUNNELS: [(&str, &[u8]); 10] = [
        ("tunnel-vxlan", T_VXLAN),
        ("tunnel-gre", T_GRE),
        ("tunnel-erspan", T_ERSPAN),
        ("tunnel-geneve", T_GENEVE),
        ("tunnel-gtpu", T_GTPU),
        ("tunnel-ipip", T_IPIP),
        ("tunnel-mpls", T_MPLS),
        ("tunnel-pppoe", T_PPPOE),
        ("tunnel-outer-frag", T_OUTER_FRAG),
        ("tunnel-inner-frag", T_INNER_FRAG),
    ];

    const ALL: [(&str, &[u8]); 8] = [
        ("loopback-tcp-udp", LOOPBACK),
        ("linux-sll", SLL),
        ("linux-sll2", SLL2),
        ("raw-ip", RAW),
        ("vlan-8021q-qinq", VLAN),
        ("ipv6-tcp-udp", IPV6),
        ("loopback-nanosecond", NANO),
        ("multi-interface", MULTI),
    ];

    /// Every frame of a capture file.
    fn frames(bytes: &'static [u8]) -> Vec<Frame<'static>> {
        let Detect::Capture { mut parser, header_len } = CaptureParser::detect(&bytes[..24]) else {
            panic!("not a capture")
        };
        let mut pos = header_len;
        let mut out = Vec::new();
        loop {
            match parser.next(bytes, &mut pos, 0) {
                Next::Frame(f) => out.push(f),
                Next::NeedMore { .. } if pos == bytes.len() => return out,
                other => panic!("{other:?}"),
            }
        }
    }

    fn frame(link: u16, data: &[u8]) -> Frame<'_> {
        Frame {
            ts_ns: 0,
            link_type: LinkType(link),
            data,
            orig_len: data.len() as u32,
        }
    }

    fn v4(s: &str) -> Addr {
        match s.parse::<std::net::IpAddr>().unwrap() {
            std::net::IpAddr::V4(a) => Addr::v4(a.octets()),
            std::net::IpAddr::V6(a) => Addr::v6(a.octets()),
        }
    }

    fn tcp_of<'a>(m: &PacketMeta<'a>) -> TcpMeta<'a> {
        match m.l4 {
            L4::Tcp(t) => t,
            other => panic!("not TCP: {other:?}"),
        }
    }

    fn vlans(m: &PacketMeta<'_>) -> Vec<u16> {
        m.vlan[..m.vlan_count as usize].to_vec()
    }

    // ------------------------------------------------------------- packet builders (by hand)

    const A: [u8; 4] = [10, 0, 0, 1];
    const B: [u8; 4] = [10, 0, 0, 2];
    const ROUTER: [u8; 4] = [192, 0, 2, 254];
    const A6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const B6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    const ROUTER6: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe];

    /// IPv4 header (RFC 791) with a correct checksum, then the payload.
    fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], id: u16, flags_frag: u16, payload: &[u8]) -> Vec<u8> {
        let total = (20 + payload.len()) as u16;
        let mut h = vec![0x45, 0];
        h.extend_from_slice(&total.to_be_bytes());
        h.extend_from_slice(&id.to_be_bytes());
        h.extend_from_slice(&flags_frag.to_be_bytes());
        h.extend_from_slice(&[64, proto, 0, 0]);
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        let sum: u32 = h.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]]) as u32).sum();
        let sum = (sum & 0xFFFF) + (sum >> 16);
        h[10..12].copy_from_slice(&(!(sum as u16 + (sum >> 16) as u16)).to_be_bytes());
        h.extend_from_slice(payload);
        h
    }

    /// IPv6 header (RFC 8200), then the payload (extension headers included).
    fn ipv6(next: u8, src: [u8; 16], dst: [u8; 16], payload: &[u8]) -> Vec<u8> {
        let mut h = vec![0x60, 0, 0, 0];
        h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        h.extend_from_slice(&[next, 64]);
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        h.extend_from_slice(payload);
        h
    }

    /// 20-byte TCP header (RFC 9293), then the payload.
    fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&sport.to_be_bytes());
        h.extend_from_slice(&dport.to_be_bytes());
        h.extend_from_slice(&seq.to_be_bytes());
        h.extend_from_slice(&ack.to_be_bytes());
        h.extend_from_slice(&[0x50, flags, 0xFA, 0xF0, 0, 0, 0, 0]);
        h.extend_from_slice(payload);
        h
    }

    fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&sport.to_be_bytes());
        h.extend_from_slice(&dport.to_be_bytes());
        h.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        h.extend_from_slice(&[0, 0]);
        h.extend_from_slice(payload);
        h
    }

    /// Ethernet II with 802.1Q tags (TPID, TCI) in order, then the EtherType.
    fn eth(tags: &[(u16, u16)], ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 0xBB, 0x02, 0, 0, 0, 0, 0xAA];
        for &(tpid, tci) in tags {
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&tci.to_be_bytes());
        }
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn eth4(payload: &[u8]) -> Vec<u8> {
        eth(&[], 0x0800, payload)
    }

    /// ICMP message (type, code, checksum 0, 4 unused bytes) quoting `quoted`.
    fn icmp(ty: u8, code: u8, quoted: &[u8]) -> Vec<u8> {
        let mut m = vec![ty, code, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(quoted);
        m
    }

    /// A TCP packet from A:40000 to B:443 in IPv4.
    fn tcp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        ipv4(6, src, dst, 1, 0x4000, &tcp(sport, dport, 1000, 0, 0x02, &[]))
    }

    // ------------------------------------------------------------- real frames

    struct WantTcp {
        frame: usize,
        src: &'static str,
        dst: &'static str,
        ports: (u16, u16),
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        len: usize,
        vlan: &'static [u16],
    }

    #[allow(clippy::too_many_arguments)]
    const fn w(
        frame: usize,
        src: &'static str,
        dst: &'static str,
        ports: (u16, u16),
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        len: usize,
        vlan: &'static [u16],
    ) -> WantTcp {
        WantTcp {
            frame,
            src,
            dst,
            ports,
            seq,
            ack,
            flags,
            window,
            len,
            vlan,
        }
    }

    #[test]
    fn tcp_frames_of_every_link_type_match_tshark() {
        // tshark -r F -T fields -e ip.src -e ip.dst -e tcp.srcport -e tcp.dstport -e tcp.seq_raw
        //   -e tcp.ack_raw -e tcp.flags -e tcp.window_size_value -e tcp.len -e vlan.id
        let lo = "127.0.0.1";
        let cases: [(&str, &[u8], u16, Vec<WantTcp>); 6] = [
            (
                "loopback-tcp-udp (Ethernet)",
                LOOPBACK,
                1,
                vec![
                    w(1, lo, lo, (35200, 8080), 4030039658, 0, 0x02, 65495, 0, &[]),
                    w(2, lo, lo, (8080, 35200), 1175477592, 4030039659, 0x12, 65483, 0, &[]),
                    w(4, lo, lo, (35200, 8080), 4030039659, 1175477593, 0x18, 64, 87, &[]),
                ],
            ),
            (
                "linux-sll",
                SLL,
                113,
                vec![
                    w(
                        1,
                        "10.99.1.1",
                        "10.99.1.2",
                        (55540, 7001),
                        3886376641,
                        0,
                        0x02,
                        64240,
                        0,
                        &[],
                    ),
                    w(
                        4,
                        "10.99.1.2",
                        "10.99.1.1",
                        (7001, 55540),
                        4179601759,
                        3886376642,
                        0x18,
                        64,
                        36,
                        &[],
                    ),
                ],
            ),
            (
                "linux-sll2",
                SLL2,
                276,
                vec![
                    w(
                        1,
                        "10.99.1.1",
                        "10.99.1.2",
                        (55556, 7001),
                        1230818294,
                        0,
                        0x02,
                        64240,
                        0,
                        &[],
                    ),
                    w(
                        4,
                        "10.99.1.2",
                        "10.99.1.1",
                        (7001, 55556),
                        2892032009,
                        1230818295,
                        0x18,
                        64,
                        36,
                        &[],
                    ),
                ],
            ),
            (
                "raw-ip",
                RAW,
                101,
                vec![
                    w(
                        1,
                        "10.99.3.1",
                        "10.99.3.2",
                        (32780, 8080),
                        2914750752,
                        0,
                        0x02,
                        64240,
                        0,
                        &[],
                    ),
                    w(
                        2,
                        "10.99.3.2",
                        "10.99.3.1",
                        (8080, 32780),
                        2383695920,
                        2914750753,
                        0x12,
                        65160,
                        0,
                        &[],
                    ),
                    w(
                        4,
                        "10.99.3.1",
                        "10.99.3.2",
                        (32780, 8080),
                        2914750753,
                        2383695921,
                        0x18,
                        63,
                        87,
                        &[],
                    ),
                ],
            ),
            (
                "vlan-8021q-qinq",
                VLAN,
                1,
                vec![
                    w(
                        1,
                        "10.99.100.1",
                        "10.99.100.2",
                        (57554, 8080),
                        1837495270,
                        0,
                        0x02,
                        64240,
                        0,
                        &[100],
                    ),
                    w(
                        4,
                        "10.99.100.1",
                        "10.99.100.2",
                        (57554, 8080),
                        1837495271,
                        2183421025,
                        0x18,
                        63,
                        89,
                        &[100],
                    ),
                    // 802.1ad outer tag 200, 802.1Q inner tag 300 (tshark: ieee8021ad.id, vlan.id)
                    w(
                        18,
                        "10.99.230.1",
                        "10.99.230.2",
                        (35018, 7001),
                        3133276316,
                        0,
                        0x02,
                        64240,
                        0,
                        &[200, 300],
                    ),
                    w(
                        21,
                        "10.99.230.2",
                        "10.99.230.1",
                        (7001, 35018),
                        1595856467,
                        3133276317,
                        0x18,
                        64,
                        36,
                        &[200, 300],
                    ),
                ],
            ),
            (
                "ipv6-tcp-udp",
                IPV6,
                1,
                vec![
                    w(1, "::1", "::1", (60962, 8080), 2087331538, 0, 0x02, 65476, 0, &[]),
                    w(
                        2,
                        "::1",
                        "::1",
                        (8080, 60962),
                        2383873202,
                        2087331539,
                        0x12,
                        65464,
                        0,
                        &[],
                    ),
                    w(
                        4,
                        "::1",
                        "::1",
                        (60962, 8080),
                        2087331539,
                        2383873203,
                        0x18,
                        64,
                        83,
                        &[],
                    ),
                ],
            ),
        ];
        for (name, bytes, link, wants) in cases {
            let all = frames(bytes);
            for want in wants {
                let fr = all[want.frame - 1];
                assert_eq!(fr.link_type, LinkType(link), "{name}");
                let m = decode(&fr).unwrap_or_else(|e| panic!("{name} frame {}: {e:?}", want.frame));
                let t = tcp_of(&m);
                let at = format!("{name} frame {}", want.frame);
                assert_eq!((m.src, m.dst), (v4(want.src), v4(want.dst)), "{at}");
                assert_eq!(m.src.to_ip().to_string(), want.src, "{at}");
                assert_eq!(m.ip_proto, 6, "{at}");
                assert_eq!((t.src_port, t.dst_port), want.ports, "{at}");
                assert_eq!(
                    (t.seq, t.ack, t.flags, t.window),
                    (want.seq, want.ack, want.flags, want.window),
                    "{at}"
                );
                assert_eq!(t.payload.len(), want.len, "{at}");
                assert_eq!(t.payload_len as usize, want.len, "{at}");
                // the payload is the frame's last bytes (no padding in these frames)
                assert_eq!(t.payload, &fr.data[fr.data.len() - want.len..], "{at}");
                assert_eq!(vlans(&m), want.vlan, "{at}");
                assert_eq!(t.has(TcpMeta::SYN), want.flags & 0x02 != 0, "{at}");
                assert_eq!(t.has(TcpMeta::ACK), want.flags & 0x10 != 0, "{at}");
            }
        }
    }

    #[test]
    fn udp_frames_match_tshark() {
        // tshark -Y udp -e ip.src -e ip.dst -e udp.srcport -e udp.dstport -e udp.length -e vlan.id
        // (name, file, frame number, src, dst, ports, udp.length, vlan ids)
        type Case = (
            &'static str,
            &'static [u8],
            usize,
            &'static str,
            &'static str,
            (u16, u16),
            usize,
            &'static [u16],
        );
        let cases: [Case; 8] = [
            ("loopback", LOOPBACK, 41, "127.0.0.1", "127.0.0.1", (49984, 53), 57, &[]),
            ("sll", SLL, 16, "10.99.1.1", "10.99.1.2", (49793, 7002), 40, &[]),
            ("sll2", SLL2, 16, "10.99.1.1", "10.99.1.2", (52977, 7002), 40, &[]),
            ("raw", RAW, 11, "10.99.3.1", "10.99.3.2", (59565, 53), 57, &[]),
            (
                "vlan",
                VLAN,
                14,
                "10.99.100.1",
                "10.99.100.2",
                (54740, 7002),
                40,
                &[100],
            ),
            (
                "qinq",
                VLAN,
                33,
                "10.99.230.1",
                "10.99.230.2",
                (50215, 53),
                0,
                &[200, 300],
            ),
            ("ipv6", IPV6, 28, "::1", "::1", (53243, 53), 57, &[]),
            (
                "multi-interface",
                MULTI,
                16,
                "127.0.0.1",
                "127.0.0.1",
                (36065, 7002),
                40,
                &[],
            ),
        ];
        for (name, bytes, n, src, dst, ports, udp_len, vlan) in cases {
            let m = decode(&frames(bytes)[n - 1]).unwrap();
            let L4::Udp {
                src_port,
                dst_port,
                payload,
                ..
            } = m.l4
            else {
                panic!("{name}: {:?}", m.l4)
            };
            assert_eq!((m.src, m.dst, m.ip_proto), (v4(src), v4(dst), 17), "{name}");
            assert_eq!((src_port, dst_port), ports, "{name}");
            if udp_len != 0 {
                assert_eq!(payload.len(), udp_len - 8, "{name}");
            }
            assert_eq!(vlans(&m), vlan, "{name}");
        }
    }

    #[test]
    fn every_fixture_frame_decodes_and_counts_match_tshark() {
        // tshark -Y tcp | wc -l ; tshark -Y udp | wc -l
        let counts = [(40, 8), (15, 2), (15, 2), (10, 4), (28, 6), (27, 6), (15, 4), (30, 8)];
        for ((name, bytes), (tcp_n, udp_n)) in ALL.iter().zip(counts) {
            let (mut t, mut u) = (0, 0);
            for (i, fr) in frames(bytes).iter().enumerate() {
                let m = decode(fr).unwrap_or_else(|e| panic!("{name} frame {}: {e:?}", i + 1));
                match m.l4 {
                    L4::Tcp(_) => t += 1,
                    L4::Udp { .. } => u += 1,
                    other => panic!("{name} frame {}: {other:?}", i + 1),
                }
                assert_eq!(m.src.v6, *name == "ipv6-tcp-udp");
                assert_ne!(shard_hash(fr), 0, "{name} frame {}", i + 1);
            }
            assert_eq!((t, u), (tcp_n, udp_n), "{name}");
        }
    }

    // ------------------------------------------------------------- link layers

    #[test]
    fn bsd_null_and_loop_address_families() {
        let p4 = tcp4(A, B, 40000, 443);
        let p6 = ipv6(6, A6, B6, &tcp(40000, 443, 7, 0, 0x02, &[]));
        let with = |af: [u8; 4], p: &[u8]| [&af[..], p].concat();
        // NULL (0): host byte order (either, since the file may come from another host)
        for (af, p, v6) in [
            (2u32.to_ne_bytes(), &p4, false),
            (2u32.to_le_bytes(), &p4, false),
            (2u32.to_be_bytes(), &p4, false),
            (30u32.to_le_bytes(), &p6, true), // macOS AF_INET6
            (30u32.to_be_bytes(), &p6, true),
            (28u32.to_le_bytes(), &p6, true), // FreeBSD
            (24u32.to_le_bytes(), &p6, true), // NetBSD/OpenBSD
            (10u32.to_le_bytes(), &p6, true), // Linux
        ] {
            let d = with(af, p);
            let m = decode(&frame(0, &d)).unwrap_or_else(|e| panic!("{af:?}: {e:?}"));
            assert_eq!(m.src.v6, v6);
            let t = tcp_of(&m);
            assert_eq!((t.src_port, t.dst_port), (40000, 443));
        }
        // LOOP (108): network byte order
        for (af, p) in [
            (2u32.to_be_bytes(), &p4),
            (24u32.to_be_bytes(), &p6),
            (30u32.to_be_bytes(), &p6),
        ] {
            let d = with(af, p);
            assert!(matches!(decode(&frame(108, &d)).unwrap().l4, L4::Tcp(_)));
        }
        let d = with(2u32.to_be_bytes(), &p4);
        let m = decode(&frame(108, &d)).unwrap();
        assert_eq!((m.src, m.dst), (Addr::v4(A), Addr::v4(B)));
        // LOOP with the value in little-endian order is not AF_INET
        assert_eq!(
            decode(&frame(108, &with(2u32.to_le_bytes(), &p4))).unwrap_err(),
            DecodeError::NotIp
        );
        // AF_APPLETALK (16), AF_UNIX (1): not IP
        assert_eq!(
            decode(&frame(0, &with(16u32.to_le_bytes(), &p4))).unwrap_err(),
            DecodeError::NotIp
        );
        assert_eq!(
            decode(&frame(0, &with(1u32.to_le_bytes(), &p4))).unwrap_err(),
            DecodeError::NotIp
        );
        assert_eq!(decode(&frame(0, &[2, 0, 0])).unwrap_err(), DecodeError::LinkTruncated);
        assert_eq!(decode(&frame(108, &[])).unwrap_err(), DecodeError::LinkTruncated);
    }

    #[test]
    fn raw_ip_link_types() {
        let p4 = tcp4(A, B, 1, 2);
        let p6 = ipv6(17, A6, B6, &udp(3, 4, b"x"));
        for link in [101, 12, 14, 228] {
            assert!(matches!(decode(&frame(link, &p4)).unwrap().l4, L4::Tcp(_)), "{link}");
        }
        for link in [101, 12, 14, 229] {
            let m = decode(&frame(link, &p6)).unwrap();
            assert_eq!((m.src, m.dst), (Addr::v6(A6), Addr::v6(B6)), "{link}");
        }
    }

    #[test]
    fn linux_cooked_headers() {
        let p = tcp4(A, B, 5, 6);
        // SLL: packet type, ARPHRD, address length, address [8], protocol
        let mut sll = vec![0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(&p);
        assert!(matches!(decode(&frame(113, &sll)).unwrap().l4, L4::Tcp(_)));
        sll[14..16].copy_from_slice(&[0x08, 0x06]); // ARP
        assert_eq!(decode(&frame(113, &sll)).unwrap_err(), DecodeError::NotIp);
        assert_eq!(decode(&frame(113, &sll[..15])).unwrap_err(), DecodeError::LinkTruncated);
        // SLL2: protocol, reserved, ifindex, ARPHRD, packet type, address length, address [8]
        let mut sll2 = vec![0x86, 0xDD, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0];
        sll2.extend_from_slice(&ipv6(17, A6, B6, &udp(53, 5353, b"q")));
        let m = decode(&frame(276, &sll2)).unwrap();
        assert!(matches!(
            m.l4,
            L4::Udp {
                src_port: 53,
                dst_port: 5353,
                ..
            }
        ));
        assert_eq!(
            decode(&frame(276, &sll2[..19])).unwrap_err(),
            DecodeError::LinkTruncated
        );
        // a VLAN tag inside SLL is followed too
        let mut tagged = vec![0x81, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0];
        tagged.extend_from_slice(&[0x00, 0x2A, 0x08, 0x00]);
        tagged.extend_from_slice(&p);
        assert_eq!(vlans(&decode(&frame(276, &tagged)).unwrap()), [42]);
    }

    #[test]
    fn vlan_tags() {
        let p = tcp4(A, B, 1, 2);
        // priority bits are not part of the id; 802.1ad, 802.1Q and 0x9100 TPIDs
        for (tags, want) in [
            (&[(0x8100, 0xE064)][..], &[100][..]),
            (&[(0x88A8, 200), (0x8100, 300)], &[200, 300]),
            (&[(0x9100, 7), (0x8100, 8)], &[7, 8]),
        ] {
            let f = eth(tags, 0x0800, &p);
            assert_eq!(vlans(&decode(&frame(1, &f)).unwrap()), want);
        }
        // three tags: followed, the outer two recorded
        let three = eth(&[(0x88A8, 1), (0x8100, 2), (0x8100, 3)], 0x0800, &p);
        let m = decode(&frame(1, &three)).unwrap();
        assert_eq!(vlans(&m), [1, 2]);
        assert!(matches!(m.l4, L4::Tcp(_)));
        // four is more than we follow
        let four = eth(&[(0x88A8, 1), (0x8100, 2), (0x8100, 3), (0x8100, 4)], 0x0800, &p);
        assert_eq!(decode(&frame(1, &four)).unwrap_err(), DecodeError::LinkTruncated);
        // a tag cut short
        let cut = eth(&[], 0x8100, &[0, 100]);
        assert_eq!(decode(&frame(1, &cut)).unwrap_err(), DecodeError::LinkTruncated);
        // a tagged ARP frame
        let arp = eth(&[(0x8100, 5)], 0x0806, &[0; 28]);
        assert_eq!(decode(&frame(1, &arp)).unwrap_err(), DecodeError::NotIp);
    }

    #[test]
    fn link_errors() {
        assert_eq!(decode(&frame(1, &[0; 13])).unwrap_err(), DecodeError::LinkTruncated);
        assert_eq!(decode(&frame(1, &[])).unwrap_err(), DecodeError::LinkTruncated);
        let arp = eth(&[], 0x0806, &[0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(decode(&frame(1, &arp)).unwrap_err(), DecodeError::NotIp);
        let lldp = eth(&[], 0x88CC, &[0; 20]);
        assert_eq!(decode(&frame(1, &lldp)).unwrap_err(), DecodeError::NotIp);
        // 802.3 length field + LLC (STP)
        let stp = eth(&[], 38, &[0x42, 0x42, 0x03, 0, 0]);
        assert_eq!(decode(&frame(1, &stp)).unwrap_err(), DecodeError::NotIp);
        let p = tcp4(A, B, 1, 2);
        assert_eq!(
            decode(&frame(147, &p)).unwrap_err(),
            DecodeError::UnsupportedLinkType(147)
        );
        assert_eq!(
            decode(&frame(105, &p)).unwrap_err(),
            DecodeError::UnsupportedLinkType(105)
        );
        assert_eq!(shard_hash(&frame(147, &p)), 0);
        assert_eq!(shard_hash(&frame(1, &arp)), 0);
        assert_eq!(shard_hash(&frame(1, &[0; 13])), 0);
    }

    #[test]
    fn decode_error_names() {
        let all = [
            DecodeError::UnsupportedLinkType(9),
            DecodeError::LinkTruncated,
            DecodeError::NotIp,
            DecodeError::IpHeader,
            DecodeError::TransportHeader,
            DecodeError::TunnelHeader(TunnelKind::Vxlan),
            DecodeError::TunnelTooDeep,
        ];
        let idx: Vec<usize> = all.iter().map(|e| e.index()).collect();
        assert_eq!(idx, [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(DecodeError::TunnelHeader(TunnelKind::Gre).name(), "tunnel_header");
        assert_eq!(all.len(), DecodeError::COUNT);
        assert_eq!(DecodeError::UnsupportedLinkType(147).name(), "unsupported_link_type");
        assert_eq!(DecodeError::TransportHeader.name(), "transport_header");
    }

    // ------------------------------------------------------------- IP layer

    #[test]
    fn ip_header_errors() {
        let p = tcp4(A, B, 1, 2);
        assert_eq!(decode(&frame(1, &eth4(&p[..10]))).unwrap_err(), DecodeError::IpHeader);
        assert_eq!(decode(&frame(1, &eth4(&[]))).unwrap_err(), DecodeError::IpHeader);
        let mut bad = p.clone();
        bad[0] = 0x75; // version 7
        assert_eq!(decode(&frame(101, &bad)).unwrap_err(), DecodeError::IpHeader);
        let mut bad = p.clone();
        bad[0] = 0x44; // IHL 4 (16 bytes)
        assert_eq!(decode(&frame(101, &bad)).unwrap_err(), DecodeError::IpHeader);
        let p6 = ipv6(6, A6, B6, &tcp(1, 2, 3, 4, 0x10, &[]));
        assert_eq!(decode(&frame(101, &p6[..39])).unwrap_err(), DecodeError::IpHeader);
    }

    #[test]
    fn ipv4_options_padding_and_snap_length() {
        // IHL 6: a 4-byte option (NOP NOP NOP EOL) before TCP
        let seg = tcp(1234, 25, 99, 0, 0x18, b"EHLO x\r\n");
        let mut p = ipv4(6, A, B, 1, 0, &seg);
        p.splice(20..20, [1, 1, 1, 0]);
        p[0] = 0x46;
        p[2..4].copy_from_slice(&((24 + seg.len()) as u16).to_be_bytes());
        let m = decode(&frame(101, &p)).unwrap();
        let t = tcp_of(&m);
        assert_eq!(
            (t.src_port, t.dst_port, t.seq, t.payload),
            (1234, 25, 99, &b"EHLO x\r\n"[..])
        );
        // Ethernet padding after a short packet is not payload
        let mut padded = eth4(&tcp4(A, B, 1, 2));
        padded.resize(60, 0xEE);
        let t = tcp_of(&decode(&frame(1, &padded)).unwrap()).payload_len;
        assert_eq!(t, 0);
        assert!(tcp_of(&decode(&frame(1, &padded)).unwrap()).payload.is_empty());
        // a frame cut by the snap length: captured payload, declared length
        let full = eth4(&ipv4(6, A, B, 1, 0, &tcp(1, 2, 3, 4, 0x18, &[0x55; 1000])));
        let m = decode(&frame(1, &full[..14 + 20 + 20 + 100])).unwrap();
        let t = tcp_of(&m);
        assert_eq!((t.payload.len(), t.payload_len), (100, 1000));
        let cut = eth4(&ipv4(17, A, B, 1, 0, &udp(9, 10, &[7; 300]))[..20 + 8 + 50]);
        let u = decode(&frame(1, &cut)).unwrap();
        assert!(matches!(u.l4, L4::Udp { payload, .. } if payload.len() == 50));
    }

    #[test]
    fn ipv4_fragments() {
        let data: Vec<u8> = (0..72u8).collect();
        // first piece: MF, offset 0
        let first = ipv4(17, A, B, 0x1234, 0x2000, &data[..24]);
        let f = eth4(&first);
        let m = decode(&frame(1, &f)).unwrap();
        assert_eq!((m.src, m.dst, m.ip_proto), (Addr::v4(A), Addr::v4(B), 17));
        let L4::Fragment(f) = m.l4 else { panic!("{:?}", m.l4) };
        assert_eq!((f.id, f.offset, f.more, f.data), (0x1234, 0, true, &data[..24]));
        // middle: MF, offset 3 (24 bytes)
        let mid = ipv4(17, A, B, 0x1234, 0x2000 | 3, &data[24..48]);
        let L4::Fragment(f) = decode(&frame(101, &mid)).unwrap().l4 else {
            panic!()
        };
        assert_eq!((f.id, f.offset, f.more, f.data), (0x1234, 24, true, &data[24..48]));
        // last: offset 6 (48 bytes), no MF, DF clear; the 13-bit offset's top value too
        let last = ipv4(17, A, B, 0x1234, 6, &data[48..]);
        let L4::Fragment(f) = decode(&frame(101, &last)).unwrap().l4 else {
            panic!()
        };
        assert_eq!((f.id, f.offset, f.more, f.data), (0x1234, 48, false, &data[48..]));
        let far = ipv4(6, A, B, 0xFFFF, 0x1FFF, &data[..8]);
        let L4::Fragment(f) = decode(&frame(101, &far)).unwrap().l4 else {
            panic!()
        };
        assert_eq!((f.id, f.offset, f.more), (0xFFFF, 0x1FFF * 8, false));
        // DF with offset 0 and no MF is a whole datagram
        let whole = ipv4(17, A, B, 0x1234, 0x4000, &udp(1, 2, b"abc"));
        assert!(matches!(decode(&frame(101, &whole)).unwrap().l4, L4::Udp { .. }));
        // the reassembled payload decodes with transport_from_ip_payload
        let u = udp(53, 4444, &data);
        let l4 = transport_from_ip_payload(17, &u, false).unwrap();
        assert!(matches!(l4, L4::Udp { src_port: 53, dst_port: 4444, payload, .. } if payload == &data[..]));
        let seg = tcp(80, 4444, 1, 2, 0x10, b"hi");
        let l4 = transport_from_ip_payload(6, &seg, false).unwrap();
        assert_eq!(
            tcp_of(&PacketMeta {
                l4,
                ..decode(&frame(101, &whole)).unwrap()
            })
            .payload_len,
            2
        );
    }

    /// IPv6 Fragment extension header (RFC 8200 §4.5).
    fn frag6(next: u8, offset8: u16, more: bool, id: u32) -> Vec<u8> {
        let mut h = vec![next, 0];
        h.extend_from_slice(&((offset8 << 3) | more as u16).to_be_bytes());
        h.extend_from_slice(&id.to_be_bytes());
        h
    }

    #[test]
    fn ipv6_fragment_header() {
        let data: Vec<u8> = (0..64u8).collect();
        let p = ipv6(
            44,
            A6,
            B6,
            &[frag6(17, 0, true, 0xDEAD_BEEF), data[..32].to_vec()].concat(),
        );
        let m = decode(&frame(101, &p)).unwrap();
        assert_eq!((m.src, m.dst, m.ip_proto), (Addr::v6(A6), Addr::v6(B6), 17));
        let L4::Fragment(f) = m.l4 else { panic!("{:?}", m.l4) };
        assert_eq!((f.id, f.offset, f.more, f.data), (0xDEAD_BEEF, 0, true, &data[..32]));
        let p = ipv6(
            44,
            A6,
            B6,
            &[frag6(17, 4, false, 0xDEAD_BEEF), data[32..].to_vec()].concat(),
        );
        let f = eth(&[], 0x86DD, &p);
        let m = decode(&frame(1, &f)).unwrap();
        let L4::Fragment(f) = m.l4 else { panic!("{:?}", m.l4) };
        assert_eq!((f.id, f.offset, f.more, f.data), (0xDEAD_BEEF, 32, false, &data[32..]));
        // an atomic fragment (offset 0, no M) is a whole datagram
        let p = ipv6(
            44,
            A6,
            B6,
            &[frag6(6, 0, false, 9), tcp(1, 2, 3, 4, 0x02, &[])].concat(),
        );
        let t = tcp_of(&decode(&frame(101, &p)).unwrap());
        assert_eq!((t.src_port, t.dst_port, t.seq), (1, 2, 3));
    }

    #[test]
    fn ipv6_extension_headers_before_tcp() {
        // hop-by-hop (0) then destination options (60), each 8 bytes of padding options, then TCP
        let hbh = [60u8, 0, 1, 4, 0, 0, 0, 0];
        let dst = [6u8, 0, 1, 4, 0, 0, 0, 0];
        let seg = tcp(50000, 443, 0xAABB_CCDD, 0, 0x02, b"hello");
        let p = ipv6(0, A6, B6, &[&hbh[..], &dst, &seg].concat());
        let f = eth(&[], 0x86DD, &p);
        let m = decode(&frame(1, &f)).unwrap();
        assert_eq!(m.ip_proto, 6);
        let t = tcp_of(&m);
        assert_eq!(
            (t.src_port, t.dst_port, t.seq, t.payload),
            (50000, 443, 0xAABB_CCDD, &b"hello"[..])
        );
        assert_eq!(t.payload_len, 5);
    }

    // ------------------------------------------------------------- transport

    #[test]
    fn transport_header_errors() {
        let seg = tcp(1, 2, 3, 4, 0x10, b"data");
        // IP says 24 bytes of TCP follow; 10 were captured
        let mut p = ipv4(6, A, B, 1, 0, &seg);
        p.truncate(30);
        assert_eq!(decode(&frame(1, &eth4(&p))).unwrap_err(), DecodeError::TransportHeader);
        // data offset 4 (16 bytes): not a TCP header
        let mut bad = seg.clone();
        bad[12] = 0x40;
        assert_eq!(
            decode(&frame(101, &ipv4(6, A, B, 1, 0, &bad))).unwrap_err(),
            DecodeError::TransportHeader
        );
        // data offset 15 (60 bytes) with 24 bytes there
        bad[12] = 0xF0;
        assert_eq!(
            decode(&frame(101, &ipv4(6, A, B, 1, 0, &bad))).unwrap_err(),
            DecodeError::TransportHeader
        );
        // UDP header cut short
        let u = ipv4(17, A, B, 1, 0, &udp(1, 2, b"x")[..6]);
        assert_eq!(decode(&frame(101, &u)).unwrap_err(), DecodeError::TransportHeader);
        let u6 = ipv6(6, A6, B6, &seg[..19]);
        assert_eq!(decode(&frame(101, &u6)).unwrap_err(), DecodeError::TransportHeader);
        // other protocols are not errors
        let gre = ipv4(47, A, B, 1, 0, &[0; 8]);
        assert!(matches!(decode(&frame(101, &gre)).unwrap().l4, L4::Other));
        let echo = ipv4(1, A, B, 1, 0, &icmp(8, 0, b"ping"));
        assert!(matches!(decode(&frame(101, &echo)).unwrap().l4, L4::Other));
        let echo6 = ipv6(58, A6, B6, &icmp(128, 0, b"ping"));
        assert!(matches!(decode(&frame(101, &echo6)).unwrap().l4, L4::Other));
    }

    #[test]
    fn icmp_errors_quote_the_invoking_packet() {
        // RFC 792 destination unreachable (3/3) from a router, quoting A:40000 -> B:443 TCP
        // (its IP header and the first 8 bytes of TCP)
        let quoted = &tcp4(A, B, 40000, 443)[..28];
        let p = ipv4(1, ROUTER, A, 7, 0, &icmp(3, 3, quoted));
        let f = eth4(&p);
        let m = decode(&frame(1, &f)).unwrap();
        assert_eq!((m.src, m.dst, m.ip_proto), (Addr::v4(ROUTER), Addr::v4(A), 1));
        let want = Quoted {
            src: Addr::v4(A),
            dst: Addr::v4(B),
            proto: 6,
            src_port: 40000,
            dst_port: 443,
        };
        assert!(matches!(m.l4, L4::IcmpError(q) if q == want), "{:?}", m.l4);
        // time exceeded (11) quoting UDP, and the whole quoted packet
        let qu = ipv4(17, B, A, 3, 0, &udp(53, 5353, b"answer"));
        let p = ipv4(1, ROUTER, B, 8, 0, &icmp(11, 0, &qu));
        let L4::IcmpError(q) = decode(&frame(101, &p)).unwrap().l4 else {
            panic!()
        };
        assert_eq!(
            (q.src, q.dst, q.proto, q.src_port, q.dst_port),
            (Addr::v4(B), Addr::v4(A), 17, 53, 5353)
        );
        // a quoted header with options (IHL 6)
        let mut qo = tcp4(A, B, 1111, 2222);
        qo.splice(20..20, [1, 1, 1, 0]);
        qo[0] = 0x46;
        let p = ipv4(1, ROUTER, A, 9, 0, &icmp(12, 0, &qo[..32]));
        let L4::IcmpError(q) = decode(&frame(101, &p)).unwrap().l4 else {
            panic!()
        };
        assert_eq!((q.src_port, q.dst_port), (1111, 2222));
        // not quoting something we can follow: Other
        let not_first = ipv4(6, A, B, 5, 10, &tcp(1, 2, 3, 4, 0, &[])[..8]);
        let qicmp = ipv4(1, A, B, 5, 0, &icmp(8, 0, b"echo"));
        for (what, msg) in [
            ("quoted non-first fragment", icmp(3, 4, &not_first)),
            ("quoted ICMP", icmp(3, 1, &qicmp)),
            ("quote cut inside the ports", icmp(3, 3, &quoted[..22])),
            ("quote cut inside the IP header", icmp(3, 3, &quoted[..12])),
            (
                "quoted IPv6 in ICMPv4",
                icmp(3, 3, &ipv6(6, A6, B6, &tcp(1, 2, 3, 4, 0, &[]))),
            ),
        ] {
            let p = ipv4(1, ROUTER, A, 9, 0, &msg);
            assert!(matches!(decode(&frame(101, &p)).unwrap().l4, L4::Other), "{what}");
        }
        // ICMPv6 destination unreachable (1) quoting A6:5060 -> B6:5061 UDP
        let q6 = ipv6(17, A6, B6, &udp(5060, 5061, b"INVITE"));
        let p = ipv6(58, ROUTER6, A6, &icmp(1, 4, &q6));
        let f = eth(&[], 0x86DD, &p);
        let m = decode(&frame(1, &f)).unwrap();
        assert_eq!(m.ip_proto, 58);
        let L4::IcmpError(q) = m.l4 else { panic!("{:?}", m.l4) };
        assert_eq!(
            q,
            Quoted {
                src: Addr::v6(A6),
                dst: Addr::v6(B6),
                proto: 17,
                src_port: 5060,
                dst_port: 5061
            }
        );
        // packet too big (2) quoting TCP
        let p = ipv6(
            58,
            ROUTER6,
            B6,
            &icmp(2, 0, &ipv6(6, B6, A6, &tcp(443, 40000, 1, 2, 0x10, &[]))),
        );
        let L4::IcmpError(q) = decode(&frame(101, &p)).unwrap().l4 else {
            panic!()
        };
        assert_eq!((q.src, q.proto, q.src_port, q.dst_port), (Addr::v6(B6), 6, 443, 40000));
    }

    // ------------------------------------------------------------- tunnels

    const IN_A: &str = "10.77.0.1";
    const IN_B: &str = "10.77.0.2";
    const UL_A: &str = "192.0.2.1";
    const UL_B: &str = "192.0.2.2";

    /// The first frame of each tunnel fixture is curl's SYN, inside the layers listed
    /// (tshark -V agrees: kind, outer addresses, VNI/key/session/TEID/labels).
    #[test]
    fn tunnel_fixture_frames_decode_to_the_inner_syn() {
        let ul = Some((v4(UL_A), v4(UL_B)));
        let mpls = {
            let mut t = Tunnel::new(TunnelKind::Mpls, None, None);
            t.labels = [100, 101, 0, 0];
            t.label_count = 2;
            t
        };
        let mut erspan1 = Tunnel::new(TunnelKind::Erspan, ul, Some(0));
        erspan1.version = 0;
        let cases: [(&str, &[u8], usize, Tunnel); 9] = [
            ("vxlan", T_VXLAN, 0, Tunnel::new(TunnelKind::Vxlan, ul, Some(42))),
            ("gre key/seq", T_GRE, 0, Tunnel::new(TunnelKind::Gre, ul, Some(1234))),
            ("gretap", T_GRE, 12, Tunnel::new(TunnelKind::Gre, ul, None)),
            ("erspan type I", T_ERSPAN, 0, erspan1),
            ("geneve", T_GENEVE, 0, Tunnel::new(TunnelKind::Geneve, ul, Some(43))),
            ("gtpu", T_GTPU, 0, Tunnel::new(TunnelKind::Gtpu, ul, Some(0x0001_0203))),
            ("ipip", T_IPIP, 0, Tunnel::new(TunnelKind::Ipip, ul, Some(4))),
            ("mpls", T_MPLS, 0, mpls),
            ("pppoe", T_PPPOE, 0, Tunnel::new(TunnelKind::Pppoe, None, Some(0x1234))),
        ];
        for (what, bytes, i, want) in cases {
            let fr = frames(bytes)[i];
            let m = decode(&fr).unwrap_or_else(|e| panic!("{what}: {e:?}"));
            assert_eq!((m.src, m.dst, m.ip_proto), (v4(IN_A), v4(IN_B), 6), "{what}");
            let t = tcp_of(&m);
            assert_eq!((t.dst_port, t.flags, t.payload.len()), (t.dst_port, 0x02, 0), "{what}");
            assert!([8080, 8081].contains(&t.dst_port), "{what}");
            assert_eq!(m.tunnels.as_slice(), &[want], "{what}");
            assert!(vlans(&m).is_empty());
        }
        // ERSPAN types II and III (the second and third connections of tunnel-erspan.pcap)
        let e: Vec<PacketMeta<'_>> = frames(T_ERSPAN).iter().map(|f| decode(f).unwrap()).collect();
        let by_port = |p: u16| e.iter().find(|m| tcp_of(m).dst_port == p).unwrap().tunnels.as_slice()[0];
        assert_eq!((by_port(8081).version, by_port(8081).id), (1, Some(123)));
        assert_eq!((by_port(8082).version, by_port(8082).id), (2, Some(77)));
        // IPv6 in IPv4 (sit): the second connection of tunnel-ipip.pcap
        let six = frames(T_IPIP)
            .iter()
            .map(|f| decode(f).unwrap())
            .find(|m| m.src.v6)
            .unwrap();
        assert_eq!((six.src, six.dst), (v4("fd77::1"), v4("fd77::2")));
        assert_eq!(six.tunnels.as_slice(), &[Tunnel::new(TunnelKind::Ipip, ul, Some(41))]);
        // GTP-U: the server's answers come with the other TEID, without sequence numbers
        let back = decode(&frames(T_GTPU)[1]).unwrap();
        assert_eq!((back.src, back.tunnels.as_slice()[0].id), (v4(IN_B), Some(0x0a0b_0c0e)));
        assert_eq!(back.tunnels.as_slice()[0].outer(), Some((v4(UL_B), v4(UL_A))));
        // the transport payload is the frame's last bytes, whatever the layers
        let get = frames(T_VXLAN)[3];
        let t = tcp_of(&decode(&get).unwrap());
        assert!(t.payload.starts_with(b"GET /hello.txt HTTP/1.1"));
        assert_eq!(t.payload, &get.data[get.data.len() - t.payload.len()..]);
    }

    #[test]
    fn no_decap_leaves_the_outer_packet() {
        let all_but = |k| Decap::ALL.without(k);
        // VXLAN off: the UDP packet to 4789 between the tunnel endpoints
        let m = decode_with(&frames(T_VXLAN)[0], all_but(TunnelKind::Vxlan)).unwrap();
        assert_eq!((m.src, m.dst), (v4(UL_A), v4(UL_B)));
        assert!(matches!(m.l4, L4::Udp { dst_port: 4789, .. }));
        assert!(m.tunnels.is_empty());
        // GRE, ERSPAN, ipip off: another IP protocol
        for (bytes, k, proto) in [
            (T_GRE, TunnelKind::Gre, 47),
            (T_ERSPAN, TunnelKind::Erspan, 47),
            (T_IPIP, TunnelKind::Ipip, 4),
        ] {
            let m = decode_with(&frames(bytes)[0], all_but(k)).unwrap();
            assert_eq!((m.src, m.ip_proto), (v4(UL_A), proto), "{k:?}");
            assert!(matches!(m.l4, L4::Other), "{k:?}");
        }
        // gre off leaves ERSPAN on (and the other way round)
        assert_eq!(
            decode_with(&frames(T_ERSPAN)[0], all_but(TunnelKind::Gre))
                .unwrap()
                .tunnels
                .as_slice()[0]
                .kind,
            TunnelKind::Erspan
        );
        assert_eq!(
            decode_with(&frames(T_GRE)[0], all_but(TunnelKind::Erspan))
                .unwrap()
                .tunnels
                .as_slice()[0]
                .kind,
            TunnelKind::Gre
        );
        // Geneve and GTP-U off: UDP flows on their ports
        for (bytes, k, port) in [(T_GENEVE, TunnelKind::Geneve, 6081), (T_GTPU, TunnelKind::Gtpu, 2152)] {
            let m = decode_with(&frames(bytes)[0], all_but(k)).unwrap();
            assert!(matches!(m.l4, L4::Udp { dst_port, .. } if dst_port == port), "{k:?}");
        }
        // MPLS and PPPoE off: not IP
        for (bytes, k) in [(T_MPLS, TunnelKind::Mpls), (T_PPPOE, TunnelKind::Pppoe)] {
            assert_eq!(
                decode_with(&frames(bytes)[0], all_but(k)).unwrap_err(),
                DecodeError::NotIp
            );
        }
        // and the shard hash follows the same decision
        let fr = frames(T_VXLAN)[0];
        let outer = canonical_hash(v4(UL_A), v4(UL_B), &[]);
        assert_eq!(shard_hash_with(&fr, all_but(TunnelKind::Vxlan)), outer);
        assert_eq!(shard_hash(&fr), canonical_hash(v4(IN_A), v4(IN_B), &[]));
        assert_eq!(Sharder::new(all_but(TunnelKind::Vxlan)).hash(&fr), outer);
    }

    /// An IPv4 header carrying `proto` from A to B around `inner`.
    fn wrap4(proto: u8, inner: &[u8]) -> Vec<u8> {
        ipv4(proto, [192, 0, 2, 1], [192, 0, 2, 2], 7, 0, inner)
    }

    /// Teredo (RFC 4380 §5.1.1): IPv6 in UDP to or from port 3544, bare, after an origin
    /// indication, or after an authentication indicator; a datagram on the port that is not
    /// IPv6 stays UDP. PPTP (RFC 2637 §4.1): IPv4 in PPP in enhanced GRE (version 1).
    #[test]
    fn teredo_and_pptp_are_opened() {
        let all_but = |k| Decap::ALL.without(k);
        let inner = ipv6(17, A6, B6, &udp(5353, 53, b"q"));
        let origin = [0x00u8, 0x00, 0xf2, 0x27, 0x3f, 0xff, 0xfd, 0xfe];
        // authentication indicator: ID-len 0, AU-len 0, nonce, confirmation
        let auth = [0x00u8, 0x01, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0];
        for (head, sport, dport) in [
            (&[][..], 51000, 3544),
            (&origin[..], 3544, 51000),
            (&[&auth[..], &origin[..]].concat()[..], 3544, 51000),
        ] {
            let f = wrap4(17, &udp(sport, dport, &[head, &inner[..]].concat()));
            let m = decode(&frame(101, &f)).unwrap();
            assert_eq!((m.src, m.dst), (Addr::v6(A6), Addr::v6(B6)), "{head:02x?}");
            let t = m.tunnels.as_slice();
            assert_eq!((t.len(), t[0].kind), (1, TunnelKind::Teredo));
            assert_eq!(t[0].outer(), Some((Addr::v4([192, 0, 2, 1]), Addr::v4([192, 0, 2, 2]))));
            assert!(matches!(
                m.l4,
                L4::Udp {
                    src_port: 5353,
                    dst_port: 53,
                    ..
                }
            ));
            // the worker is the inner flow's
            assert_eq!(
                shard_hash(&frame(101, &f)),
                canonical_hash(Addr::v6(A6), Addr::v6(B6), &[])
            );
            // --no-decap teredo leaves the UDP datagram
            let m = decode_with(&frame(101, &f), all_but(TunnelKind::Teredo)).unwrap();
            assert!(m.tunnels.is_empty());
            assert!(matches!(m.l4, L4::Udp { src_port, dst_port, .. } if (src_port, dst_port) == (sport, dport)));
        }
        // not Teredo on its port: an IPv4 payload, a bad payload length, a stray byte
        for payload in [
            ipv4(17, A, B, 1, 0, &udp(1, 2, b"x")),
            {
                let mut p = inner.clone();
                p[5] = 0; // payload length 0 with more bytes after the header
                p
            },
            vec![0x00],
        ] {
            let f = wrap4(17, &udp(3544, 51000, &payload));
            let m = decode(&frame(101, &f)).unwrap();
            assert!(m.tunnels.is_empty(), "{payload:02x?}");
            assert!(matches!(m.l4, L4::Udp { src_port: 3544, .. }));
        }
        // AYIYA forwarding IPv6 (IDLen 4: 16-byte identity, SigLen 5: 20-byte signature)
        let mut ayiya = vec![0x41, 0x52, 0x11, 41, 0x5f, 0, 0, 1];
        ayiya.extend_from_slice(&[0xaa; 36]);
        ayiya.extend_from_slice(&inner);
        let f = wrap4(17, &udp(5072, 5072, &ayiya));
        let m = decode(&frame(101, &f)).unwrap();
        assert_eq!((m.src, m.dst), (Addr::v6(A6), Addr::v6(B6)));
        let t = m.tunnels.as_slice();
        assert_eq!((t.len(), t[0].kind, t[0].id), (1, TunnelKind::Ayiya, Some(41)));
        assert_eq!(
            shard_hash(&frame(101, &f)),
            canonical_hash(Addr::v6(A6), Addr::v6(B6), &[])
        );
        assert!(
            decode_with(&frame(101, &f), all_but(TunnelKind::Ayiya))
                .unwrap()
                .tunnels
                .is_empty()
        );
        // PPTP: GRE version 1, K and S set, payload length, call id 0x1234, seq; PPP FF 03 0021
        let ip = tcp4(A, B, 1, 2);
        let mut gre = vec![0x30, 0x01, 0x88, 0x0b];
        gre.extend_from_slice(&((ip.len() + 4) as u16).to_be_bytes());
        gre.extend_from_slice(&[0x12, 0x34, 0, 0, 0, 7, 0xff, 0x03, 0x00, 0x21]);
        gre.extend_from_slice(&ip);
        let pptp = wrap4(47, &gre);
        let m = decode(&frame(101, &pptp)).unwrap();
        assert_eq!((m.src, m.dst), (Addr::v4(A), Addr::v4(B)));
        let t = m.tunnels.as_slice();
        assert_eq!((t.len(), t[0].kind, t[0].id), (1, TunnelKind::Gre, Some(0x1234)));
        // an acknowledgment-only packet (A bit, no payload) and LCP stay GRE
        let ack = [0x20u8, 0x81, 0x88, 0x0b, 0, 0, 0x12, 0x34, 0, 0, 0, 9];
        assert!(matches!(decode(&frame(101, &wrap4(47, &ack))).unwrap().l4, L4::Other));
        let lcp = [&gre[..12], &[0xc0, 0x21, 1, 1, 0, 4][..]].concat();
        assert!(matches!(decode(&frame(101, &wrap4(47, &lcp))).unwrap().l4, L4::Other));
    }

    #[test]
    fn nesting_is_bounded() {
        // IPv4-in-IPv4 MAX_TUNNEL_DEPTH times is fine, once more is a counted error
        let mut p = tcp4(A, B, 1, 2);
        for _ in 0..MAX_TUNNEL_DEPTH {
            p = wrap4(4, &p);
        }
        let m = decode(&frame(101, &p)).unwrap();
        assert_eq!((m.src, m.tunnels.len()), (Addr::v4(A), MAX_TUNNEL_DEPTH));
        let deeper = wrap4(4, &p);
        assert_eq!(decode(&frame(101, &deeper)).unwrap_err(), DecodeError::TunnelTooDeep);
        assert_eq!(DecodeError::TunnelTooDeep.name(), "tunnel_too_deep");
        // the hash of a too-deep frame is 0 like every frame that does not decode
        assert_eq!(shard_hash(&frame(101, &deeper)), 0);
        // mixed kinds: VXLAN in GRE in MPLS over Ethernet
        let vx = [&[0x08u8, 0, 0, 0, 0, 0, 9, 0][..], &eth4(&tcp4(A, B, 3, 4))].concat();
        let gre = [&[0x20u8, 0, 0x08, 0, 0, 0, 0, 5][..], &wrap4(17, &udp(5555, 4789, &vx))].concat();
        let mpls = [&[0x00u8, 0x01, 0x01, 0x40][..], &wrap4(47, &gre)].concat();
        let f = eth(&[(0x8100, 7)], 0x8847, &mpls);
        let m = decode(&frame(1, &f)).unwrap();
        let kinds: Vec<TunnelKind> = m.tunnels.as_slice().iter().map(|t| t.kind).collect();
        assert_eq!(kinds, [TunnelKind::Mpls, TunnelKind::Gre, TunnelKind::Vxlan]);
        assert_eq!((m.src, vlans(&m)), (Addr::v4(A), vec![7]));
        assert_eq!(m.tunnels.as_slice()[1].id, Some(5));
        assert_eq!(m.tunnels.as_slice()[2].id, Some(9));
    }

    #[test]
    fn malformed_tunnel_headers_are_counted_errors() {
        let inner = eth4(&tcp4(A, B, 1, 2));
        let bad = |k| DecodeError::TunnelHeader(k);
        let cases: Vec<(&str, Vec<u8>, u16, DecodeError)> = vec![
            (
                "VXLAN without the I flag",
                wrap4(17, &udp(1, 4789, &[&[0u8; 8][..], &inner].concat())),
                101,
                bad(TunnelKind::Vxlan),
            ),
            (
                "VXLAN cut",
                wrap4(17, &udp(1, 4789, &[8, 0, 0])),
                101,
                bad(TunnelKind::Vxlan),
            ),
            (
                "Geneve version 1",
                wrap4(
                    17,
                    &udp(1, 6081, &[&[0x40u8, 0, 0x65, 0x58, 0, 0, 1, 0][..], &inner].concat()),
                ),
                101,
                bad(TunnelKind::Geneve),
            ),
            (
                "GTP version 2",
                wrap4(17, &udp(1, 2152, &[0x48, 0xff, 0, 0, 0, 0, 0, 1])),
                101,
                bad(TunnelKind::Gtpu),
            ),
            ("GRE cut", wrap4(47, &[0x30, 0, 8]), 101, bad(TunnelKind::Gre)),
            (
                "ERSPAN III with a type II version",
                wrap4(
                    47,
                    &[&[0x10u8, 0, 0x22, 0xeb, 0, 0, 0, 1][..], &[0x10; 12], &inner].concat(),
                ),
                101,
                bad(TunnelKind::Erspan),
            ),
            (
                "MPLS without a bottom of stack",
                eth(&[], 0x8847, &[0u8, 1, 0, 0x40].repeat(20)),
                1,
                bad(TunnelKind::Mpls),
            ),
            (
                "PPPoE discovery code in a session frame",
                eth(
                    &[],
                    0x8864,
                    &[&[0x11u8, 0x09, 0, 1, 0, 0, 0, 0x21][..], &tcp4(A, B, 1, 2)].concat(),
                ),
                1,
                bad(TunnelKind::Pppoe),
            ),
            (
                "VXLAN inner Ethernet cut",
                wrap4(17, &udp(1, 4789, &[8, 0, 0, 0, 0, 0, 1, 0, 2, 0, 0])),
                101,
                DecodeError::LinkTruncated,
            ),
            (
                "GRE inner IP cut",
                wrap4(47, &[&[0u8, 0, 8, 0][..], &[0x45, 0, 0]].concat()),
                101,
                DecodeError::IpHeader,
            ),
        ];
        for (what, f, link, want) in cases {
            assert_eq!(decode(&frame(link, &f)).unwrap_err(), want, "{what}");
            assert_eq!(shard_hash(&frame(link, &f)), 0, "{what}");
        }
        assert_eq!(bad(TunnelKind::Gre).name(), "tunnel_header");
    }

    #[test]
    fn what_is_not_a_tunnel_stays_as_it_is() {
        // a GTP-U echo request (signalling) is the UDP packet
        let echo = wrap4(17, &udp(2152, 2152, &[0x32, 1, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0]));
        assert!(matches!(decode(&frame(101, &echo)).unwrap().l4, L4::Udp { .. }));
        // a GRE keepalive (protocol 0), PPTP's enhanced GRE (version 1) with no PPP frame in
        // it: other IP protocols
        for g in [&[0u8, 0, 0, 0][..], &[0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0, 0, 0, 0, 1]] {
            let p = wrap4(47, g);
            let m = decode(&frame(101, &p)).unwrap();
            assert!(matches!(m.l4, L4::Other) && m.tunnels.is_empty());
        }
        // PPP's own protocols in PPPoE (LCP): not IP
        let lcp = eth(&[], 0x8864, &[0x11, 0, 0, 1, 0, 6, 0xc0, 0x21, 1, 1, 0, 4]);
        assert_eq!(decode(&frame(1, &lcp)).unwrap_err(), DecodeError::NotIp);
        // UDP from (not to) port 4789 is not VXLAN
        let from = wrap4(17, &udp(4789, 5000, &[0x08, 0, 0, 0, 0, 0, 1, 0]));
        assert!(matches!(decode(&frame(101, &from)).unwrap().l4, L4::Udp { .. }));
        // MPLS with a pseudowire control word, then Ethernet with a VLAN tag, then IPv4
        let pw = [
            &[0x00u8, 0x01, 0x21, 0x40, 0, 0, 0, 0][..],
            &eth(&[(0x8100, 55)], 0x0800, &tcp4(A, B, 1, 2)),
        ]
        .concat();
        let f = eth(&[], 0x8847, &pw);
        let m = decode(&frame(1, &f)).unwrap();
        assert_eq!(
            (m.src, vlans(&m), m.tunnels.as_slice()[0].labels()),
            (Addr::v4(A), vec![55], &[18u32][..])
        );
    }

    /// Every frame of the fixture where the VXLAN packets are fragmented on the underlay goes
    /// to the worker of the inner flow (10.77.0.1 <-> 10.77.0.2): the first fragment shows the
    /// inner addresses, the others follow its route. The stateless hash can only give the
    /// outer pair for the fragments.
    #[test]
    fn sharder_sends_tunnel_fragments_to_the_inner_flow() {
        let inner = canonical_hash(v4(IN_A), v4(IN_B), &[]);
        let outer = canonical_hash(v4(UL_A), v4(UL_B), &[]);
        let all = frames(T_OUTER_FRAG);
        let mut s = Sharder::new(Decap::ALL);
        let mut fragments = 0;
        for (i, fr) in all.iter().enumerate() {
            let h = s.hash(fr);
            assert_eq!(h, inner, "frame {}", i + 1);
            if matches!(decode(fr).unwrap().l4, L4::Fragment(_)) {
                fragments += 1;
            }
        }
        assert_eq!(fragments, 14);
        // the second fragment of frame 19's datagram: no inner addresses in it
        assert_eq!(shard_hash(&all[19]), outer);
        // the documented limitation: fragments that come before their first go by the outer
        // addresses (a fresh sharder, the datagram of frames 19-21 backwards)
        let mut s = Sharder::new(Decap::ALL);
        assert_eq!(s.hash(&all[20]), outer);
        assert_eq!(s.hash(&all[19]), outer);
        assert_eq!(s.hash(&all[18]), inner);
        assert_eq!(s.hash(&all[19]), inner, "after the first fragment the route is known");
        // inner fragments in unfragmented tunnel packets need no route
        for fr in frames(T_INNER_FRAG) {
            assert_eq!(Sharder::new(Decap::ALL).hash(&fr), inner);
            assert_eq!(shard_hash(&fr), inner);
        }
    }

    /// Reassembly of the fragment fixtures: the outer fragments of a VXLAN packet whose inner
    /// packet is itself a fragment meet the inner fragment that came in one piece.
    #[test]
    fn reassembler_joins_inner_and_outer_fragments() {
        for (name, bytes, want) in [
            // TCP: 2 segments (32-byte header + 1448 bytes) in 3 outer fragments each; UDP
            // 2000 bytes: towards b one inner fragment in 3 outer fragments and one whole (2
            // completions), back in 4 inner fragments (1 completion)
            (
                "outer",
                T_OUTER_FRAG,
                vec![(6u8, 1480usize, 3u32), (6, 1480, 3), (17, 2008, 4), (17, 2008, 4)],
            ),
            // 1400 bytes each way in 3 inner fragments
            ("inner", T_INNER_FRAG, vec![(17, 1408, 3), (17, 1408, 3)]),
        ] {
            let mut r = Reassembler::new(DefragLimits::default(), Decap::ALL);
            let mut got = Vec::new();
            let mut completed = 0;
            for fr in frames(bytes) {
                let m = decode(&fr).unwrap();
                let L4::Fragment(f) = m.l4 else { continue };
                let out = r.fragment(&m, f, fr.ts_ns, fr.orig_len);
                completed += out.completed;
                if let Some(p) = out.packet {
                    let (p, frames, _) = p.unwrap();
                    assert_eq!((p.src.v6, p.tunnels.len()), (false, 1), "{name}");
                    let len = match p.l4 {
                        L4::Tcp(t) => t.payload.len() + 32,
                        L4::Udp { payload, .. } => payload.len() + 8,
                        other => panic!("{other:?}"),
                    };
                    got.push((p.ip_proto, len, frames));
                }
            }
            got.sort();
            let mut want = want;
            want.sort();
            assert_eq!(got, want, "{name}");
            assert_eq!(completed as usize, if name == "outer" { 5 } else { 2 });
        }
    }

    // ------------------------------------------------------------- shard hash

    #[test]
    fn shard_hash_is_symmetric_and_tells_pairs_apart() {
        let ab = eth4(&tcp4(A, B, 40000, 443));
        let ba = eth4(&tcp4(B, A, 443, 40000));
        let h = shard_hash(&frame(1, &ab));
        assert_ne!(h, 0);
        assert_eq!(h, shard_hash(&frame(1, &ba)));
        // the same pair on other link types and ports, and as a UDP flow
        assert_eq!(h, shard_hash(&frame(101, &tcp4(B, A, 1, 2))));
        assert_eq!(h, shard_hash(&frame(101, &ipv4(17, A, B, 1, 0, &udp(5, 6, b"")))));
        // IPv4 fragments (no ports) go with their flow
        assert_eq!(h, shard_hash(&frame(101, &ipv4(6, A, B, 9, 20, &[0; 16]))));
        // IPv6 both ways, with an extension header, and fragments
        let h6 = shard_hash(&frame(101, &ipv6(6, A6, B6, &tcp(1, 2, 3, 4, 0x02, &[]))));
        assert_eq!(
            h6,
            shard_hash(&frame(101, &ipv6(6, B6, A6, &tcp(2, 1, 3, 4, 0x12, &[]))))
        );
        let hbh = [6u8, 0, 1, 4, 0, 0, 0, 0];
        let ext = ipv6(0, B6, A6, &[&hbh[..], &tcp(2, 1, 3, 4, 0x10, &[])].concat());
        assert_eq!(h6, shard_hash(&frame(101, &ext)));
        let fr6 = ipv6(44, A6, B6, &[frag6(17, 4, false, 1), vec![0; 8]].concat());
        assert_eq!(h6, shard_hash(&frame(101, &fr6)));
        // different address pairs: different values
        let mut seen = std::collections::HashSet::new();
        for x in 0..40u8 {
            for y in x + 1..40 {
                let p = tcp4([10, 1, 0, x], [10, 1, 0, y], 1000, 80);
                assert!(seen.insert(shard_hash(&frame(101, &p))), "{x} {y}");
            }
        }
        assert!(!seen.contains(&h));
        assert_ne!(h, h6);
    }

    #[test]
    fn shard_hash_of_vlan_frames_is_symmetric() {
        for tags in [&[(0x8100u16, 100u16)][..], &[(0x88A8, 200), (0x8100, 300)]] {
            let ab = shard_hash(&frame(1, &eth(tags, 0x0800, &tcp4(A, B, 1, 2))));
            let ba = shard_hash(&frame(1, &eth(tags, 0x0800, &tcp4(B, A, 2, 1))));
            assert_eq!(ab, ba, "{tags:?}");
            assert_ne!(ab, 0);
        }
        // the real QinQ and single-tag flows of the fixture, both directions
        let all = frames(VLAN);
        assert_eq!(shard_hash(&all[0]), shard_hash(&all[1])); // tag 100, SYN / SYN-ACK
        assert_eq!(shard_hash(&all[17]), shard_hash(&all[18])); // tags 200/300
        assert_eq!(shard_hash(&all[32]), shard_hash(&all[33])); // UDP in 200/300
    }

    #[test]
    fn shard_hash_puts_icmp_errors_with_the_quoted_flow() {
        let flow = shard_hash(&frame(1, &eth4(&tcp4(A, B, 40000, 443))));
        let reverse = shard_hash(&frame(1, &eth4(&tcp4(B, A, 443, 40000))));
        let err = ipv4(1, ROUTER, A, 7, 0, &icmp(3, 3, &tcp4(A, B, 40000, 443)[..28]));
        assert_eq!(shard_hash(&frame(1, &eth4(&err))), flow);
        assert_eq!(shard_hash(&frame(101, &err)), reverse);
        // from the peer, quoting the reverse direction
        let err = ipv4(1, B, A, 7, 0, &icmp(3, 3, &tcp4(A, B, 40000, 443)[..28]));
        assert_eq!(shard_hash(&frame(101, &err)), flow);
        // VLAN-tagged: like the tagged flow
        let tags = [(0x88A8, 200), (0x8100, 300)];
        let tagged_flow = shard_hash(&frame(1, &eth(&tags, 0x0800, &tcp4(B, A, 443, 40000))));
        let tagged_err = shard_hash(&frame(1, &eth(&tags, 0x0800, &err)));
        assert_eq!(tagged_err, tagged_flow);
        // ICMPv6
        let flow6 = shard_hash(&frame(101, &ipv6(17, A6, B6, &udp(5060, 5061, b"x"))));
        let err6 = ipv6(58, ROUTER6, A6, &icmp(1, 4, &ipv6(17, A6, B6, &udp(5060, 5061, b"x"))));
        assert_eq!(shard_hash(&frame(101, &err6)), flow6);
        // an ICMP message that is not an error is hashed by its own addresses
        let echo = ipv4(1, ROUTER, A, 7, 0, &icmp(8, 0, b"ping"));
        assert_eq!(
            shard_hash(&frame(101, &echo)),
            shard_hash(&frame(101, &tcp4(A, ROUTER, 1, 2)))
        );
    }

    /// A frame with the given address pair and VLAN ids, hashed the plain way: what
    /// `shard_hash` must give any frame that `decode` says belongs to that pair.
    fn canonical_hash(src: Addr, dst: Addr, vlan: &[u16]) -> u64 {
        let tags: Vec<(u16, u16)> = vlan.iter().map(|&v| (0x8100, v)).collect();
        let p = if src.v6 {
            (0x86DD, ipv6(17, src.bytes, dst.bytes, &udp(1, 2, &[])))
        } else {
            let a = |x: Addr| [x.bytes[0], x.bytes[1], x.bytes[2], x.bytes[3]];
            (0x0800, ipv4(17, a(src), a(dst), 0, 0, &udp(1, 2, &[])))
        };
        shard_hash(&frame(1, &eth(&tags, p.0, &p.1)))
    }

    /// Deterministic xorshift.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Real and built frames to cut and mutate.
    fn sample_frames() -> Vec<(u16, Vec<u8>)> {
        let mut out: Vec<(u16, Vec<u8>)> = Vec::new();
        for (_, bytes) in ALL.iter().chain(TUNNELS.iter()) {
            for fr in frames(bytes).iter().take(6) {
                out.push((fr.link_type.0, fr.data.to_vec()));
            }
        }
        // fragments of tunnel packets, and of packets inside tunnels
        for bytes in [T_OUTER_FRAG, T_INNER_FRAG] {
            for fr in frames(bytes).iter().skip(6) {
                out.push((fr.link_type.0, fr.data.to_vec()));
            }
        }
        let v = frames(VLAN);
        for i in [17, 20, 32] {
            out.push((1, v[i].data.to_vec()));
        }
        let quoted = &tcp4(A, B, 40000, 443)[..28];
        out.push((
            1,
            eth(&[(0x8100, 9)], 0x0800, &ipv4(1, ROUTER, A, 7, 0, &icmp(3, 3, quoted))),
        ));
        out.push((
            101,
            ipv6(58, ROUTER6, A6, &icmp(1, 4, &ipv6(17, A6, B6, &udp(5060, 5061, b"x")))),
        ));
        out.push((101, ipv4(17, A, B, 0x1234, 0x2000, &[0; 24])));
        out.push((101, ipv6(44, A6, B6, &[frag6(17, 4, false, 1), vec![0; 8]].concat())));
        let hbh = [6u8, 0, 1, 4, 0, 0, 0, 0];
        out.push((
            101,
            ipv6(0, B6, A6, &[&hbh[..], &tcp(2, 1, 3, 4, 0x10, b"abc")].concat()),
        ));
        out.push((0, [&2u32.to_le_bytes()[..], &tcp4(A, B, 1, 2)].concat()));
        out.push((
            108,
            [&24u32.to_be_bytes()[..], &ipv6(17, A6, B6, &udp(1, 2, b"z"))].concat(),
        ));
        out
    }

    #[test]
    fn every_prefix_of_real_frames_decodes_without_panic() {
        for (link, data) in sample_frames() {
            for n in 0..=data.len() {
                let fr = frame(link, &data[..n]);
                let h = shard_hash(&fr);
                if let Ok(m) = decode(&fr) {
                    let (s, d) = match m.l4 {
                        L4::IcmpError(q) => (q.src, q.dst),
                        _ => (m.src, m.dst),
                    };
                    assert_eq!(h, canonical_hash(s, d, &vlans(&m)), "link {link} prefix {n}");
                }
            }
        }
    }

    #[test]
    fn prefixes_of_a_tcp_frame_fail_layer_by_layer() {
        // loopback-tcp-udp frame 4: Ethernet 14 + IPv4 20 + TCP 32 + 87 bytes of HTTP
        let fr = frames(LOOPBACK)[3];
        assert_eq!(fr.data.len(), 153);
        // QinQ frame 21: Ethernet 14 + two tags 8 + IPv4 20 + TCP 32 + 36 bytes
        let q = frames(VLAN)[20];
        for (data, link_end, ip_end, tcp_end) in [(fr.data, 14, 34, 66), (q.data, 22, 42, 74)] {
            for n in 0..=data.len() {
                let r = decode(&frame(1, &data[..n]));
                match n {
                    _ if n < link_end => assert_eq!(r.unwrap_err(), DecodeError::LinkTruncated, "{n}"),
                    _ if n < ip_end => assert_eq!(r.unwrap_err(), DecodeError::IpHeader, "{n}"),
                    _ if n < tcp_end => assert_eq!(r.unwrap_err(), DecodeError::TransportHeader, "{n}"),
                    _ => {
                        let m = r.unwrap();
                        let t = tcp_of(&m);
                        assert_eq!(t.payload, &data[tcp_end..n]);
                        assert_eq!(t.payload_len as usize, data.len() - tcp_end);
                    }
                }
            }
        }
    }

    #[test]
    fn mutated_frames_never_panic_and_hash_where_decode_says() {
        let samples = sample_frames();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for round in 0..20_000 {
            let (link, orig) = &samples[round % samples.len()];
            let mut data = orig.clone();
            for _ in 0..1 + rng.next() % 4 {
                let at = (rng.next() as usize) % data.len().clamp(1, 96);
                if at < data.len() {
                    data[at] = rng.next() as u8;
                }
            }
            let cut = if rng.next().is_multiple_of(4) {
                (rng.next() as usize) % (data.len() + 1)
            } else {
                data.len()
            };
            let link = if rng.next().is_multiple_of(50) {
                [0u16, 1, 101, 108, 113, 276][round % 6]
            } else {
                *link
            };
            let fr = frame(link, &data[..cut]);
            let h = shard_hash(&fr);
            if let Ok(m) = decode(&fr) {
                let (s, d) = match m.l4 {
                    L4::IcmpError(q) => (q.src, q.dst),
                    _ => (m.src, m.dst),
                };
                assert_eq!(
                    h,
                    canonical_hash(s, d, &vlans(&m)),
                    "round {round}: {:02x?}",
                    &data[..cut]
                );
            }
        }
        // and random bytes on every link type
        for round in 0..5_000 {
            let len = (rng.next() % 120) as usize;
            let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            for link in [0u16, 1, 12, 101, 108, 113, 228, 229, 276] {
                let fr = frame(link, &data);
                let _ = (decode(&fr), shard_hash(&fr), round);
            }
        }
    }
}
