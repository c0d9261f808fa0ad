//! Tunnel and mirror encapsulations: the header parsers the decoder walks through to reach the
//! innermost IP packet (GRE, ERSPAN types I/II/III, VXLAN, Geneve, GTP-U, IPv4/IPv6-in-IP, MPLS
//! label stacks, PPPoE session frames), and the [`Tunnel`] layers a [`super::PacketMeta`]
//! records, outermost first, in a fixed array of [`MAX_TUNNEL_DEPTH`].
//!
//! Hand-written rather than taken from etherparse: etherparse 0.21 slices none of these
//! headers (it knows only IP-in-IP as IP extension/next headers, and no GRE, ERSPAN, VXLAN,
//! Geneve, GTP-U, MPLS or PPPoE). Every parser borrows its input, never allocates, reads only
//! after a length check, and keeps values it does not know (a GRE protocol type, a Geneve
//! protocol type, a GTP message type) instead of failing on them; what it refuses is reported
//! as [`TunnelError::Truncated`] (the header is cut short) or [`TunnelError::Malformed`] (a
//! field the specification fixes has another value).

use super::Addr;

/// Tunnel layers recorded per packet; one more is a [`super::DecodeError::TunnelTooDeep`].
pub const MAX_TUNNEL_DEPTH: usize = 4;
/// MPLS labels recorded per MPLS layer (the first ones, from the top of the stack).
pub const MAX_MPLS_LABELS: usize = 4;
/// MPLS label stack entries walked before the stack is called malformed (no bottom of stack).
pub const MAX_MPLS_STACK: usize = 16;
/// GTP-U extension headers followed before the header is called malformed.
pub const MAX_GTPU_EXTENSIONS: usize = 8;

/// IANA UDP port of VXLAN (RFC 7348 §5).
pub const VXLAN_PORT: u16 = 4789;
/// IANA UDP port of Geneve (RFC 8926 §3.3).
pub const GENEVE_PORT: u16 = 6081;
/// IANA UDP port of GTP-U (3GPP TS 29.281 §4.4.2.3).
pub const GTPU_PORT: u16 = 2152;

/// EtherType of MPLS unicast and multicast (RFC 5332).
pub const ETHERTYPE_MPLS_UC: u16 = 0x8847;
pub const ETHERTYPE_MPLS_MC: u16 = 0x8848;
/// Teredo's server port (RFC 4380 §2.6; tshark and Zeek decode Teredo on it, either end).
pub const TEREDO_PORT: u16 = 3544;
/// AYIYA's port (draft-massar-v6ops-ayiya-02 §7; tshark and Zeek decode it, either end).
pub const AYIYA_PORT: u16 = 5072;
/// EtherType of PPPoE session frames (RFC 2516 §4); discovery frames (0x8863) carry no data.
pub const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
/// GRE protocol type of ERSPAN types I and II (draft-foschiano-erspan-03 §4.1, §4.2).
pub const ETHERTYPE_ERSPAN_I_II: u16 = 0x88BE;
/// GRE protocol type of ERSPAN type III (draft-foschiano-erspan-03 §4.3).
pub const ETHERTYPE_ERSPAN_III: u16 = 0x22EB;
/// GRE protocol type "Transparent Ethernet Bridging" (an Ethernet frame follows; Linux gretap).
pub const ETHERTYPE_TEB: u16 = 0x6558;

/// The encapsulations the decoder removes. [`TunnelKind::name`] is the `kind` of the flow
/// record's `tunnel` objects and the value of `--no-decap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TunnelKind {
    Gre,
    Erspan,
    Vxlan,
    Geneve,
    Gtpu,
    /// IPv4 or IPv6 directly in IPv4 or IPv6 (IP protocols 4 and 41).
    Ipip,
    Mpls,
    Pppoe,
    /// IPv6 in UDP to or from port 3544 (RFC 4380).
    Teredo,
    /// IPv4 or IPv6 in UDP to or from port 5072 (AYIYA, draft-massar-v6ops-ayiya).
    Ayiya,
}

impl TunnelKind {
    pub const COUNT: usize = 10;
    pub const ALL: [TunnelKind; Self::COUNT] = [
        TunnelKind::Gre,
        TunnelKind::Erspan,
        TunnelKind::Vxlan,
        TunnelKind::Geneve,
        TunnelKind::Gtpu,
        TunnelKind::Ipip,
        TunnelKind::Mpls,
        TunnelKind::Pppoe,
        TunnelKind::Teredo,
        TunnelKind::Ayiya,
    ];
    pub const NAMES: [&'static str; Self::COUNT] = [
        "gre", "erspan", "vxlan", "geneve", "gtpu", "ipip", "mpls", "pppoe", "teredo", "ayiya",
    ];

    pub fn index(self) -> usize {
        self as usize
    }
    pub fn name(self) -> &'static str {
        Self::NAMES[self.index()]
    }
    pub fn from_name(s: &str) -> Option<TunnelKind> {
        Self::NAMES.iter().position(|n| *n == s).map(|i| Self::ALL[i])
    }
}

/// Which kinds the decoder removes (`--no-decap KIND` turns one off): a kind that is off is
/// left as it is, so its outer packet is the flow (a UDP flow to 4789, a GRE packet counted
/// as another IP protocol, an MPLS or PPPoE frame counted as not IP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decap(u16);

impl Decap {
    pub const ALL: Decap = Decap((1 << TunnelKind::COUNT) - 1);
    pub const NONE: Decap = Decap(0);

    #[inline]
    pub fn has(self, k: TunnelKind) -> bool {
        self.0 & (1 << k as u16) != 0
    }
    pub fn without(self, k: TunnelKind) -> Decap {
        Decap(self.0 & !(1 << k as u16))
    }
    pub fn with(self, k: TunnelKind) -> Decap {
        Decap(self.0 | (1 << k as u16))
    }
    /// Is `port` a UDP destination port of a tunnel this configuration removes?
    #[inline]
    pub fn udp_port(self, port: u16) -> bool {
        match port {
            VXLAN_PORT => self.has(TunnelKind::Vxlan),
            GENEVE_PORT => self.has(TunnelKind::Geneve),
            GTPU_PORT => self.has(TunnelKind::Gtpu),
            _ => false,
        }
    }
    /// Can a UDP datagram between these ports be a tunnel this configuration removes? The
    /// destination port names VXLAN, Geneve and GTP-U; Teredo's server port 3544 and AYIYA's
    /// 5072 may be either end.
    #[inline]
    pub fn udp_ports(self, src: u16, dst: u16) -> bool {
        self.udp_port(dst)
            || ((src == TEREDO_PORT || dst == TEREDO_PORT) && self.has(TunnelKind::Teredo))
            || ((src == AYIYA_PORT || dst == AYIYA_PORT) && self.has(TunnelKind::Ayiya))
    }
}

impl Default for Decap {
    fn default() -> Self {
        Decap::ALL
    }
}

/// One removed encapsulation layer, as the flow record's `tunnel` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tunnel {
    pub kind: TunnelKind,
    /// Source and destination of the IP header that carried the layer (see [`Tunnel::outer`]).
    pub src: Addr,
    pub dst: Addr,
    /// `src` and `dst` are set (not for MPLS and PPPoE, which sit below IP).
    pub has_outer: bool,
    /// VXLAN/Geneve VNI, GRE key, GTP-U TEID, PPPoE session id, ERSPAN session id, and the
    /// IP protocol number for `ipip` (4 or 41). `None` where the header has none (GRE without
    /// the K bit).
    pub id: Option<u32>,
    /// ERSPAN: the GRE key under it, when present.
    pub key: Option<u32>,
    /// ERSPAN: the header's version field (0 for type I, which has no header; 1 type II;
    /// 2 type III).
    pub version: u8,
    /// MPLS: the label stack's depth, and its first [`MAX_MPLS_LABELS`] labels.
    pub label_count: u8,
    pub labels: [u32; MAX_MPLS_LABELS],
}

impl Tunnel {
    /// All zero bytes, so that an empty stack costs a memset, not a copy.
    pub const EMPTY: Tunnel = Tunnel {
        kind: TunnelKind::Gre,
        src: Addr {
            bytes: [0; 16],
            v6: false,
        },
        dst: Addr {
            bytes: [0; 16],
            v6: false,
        },
        has_outer: false,
        id: None,
        key: None,
        version: 0,
        label_count: 0,
        labels: [0; MAX_MPLS_LABELS],
    };

    pub fn new(kind: TunnelKind, outer: Option<(Addr, Addr)>, id: Option<u32>) -> Tunnel {
        let (src, dst) = outer.unwrap_or_default();
        Tunnel {
            kind,
            src,
            dst,
            has_outer: outer.is_some(),
            id,
            ..Tunnel::EMPTY
        }
    }

    /// Source and destination of the IP header that carried the layer (none for MPLS and
    /// PPPoE, which sit below IP).
    pub fn outer(&self) -> Option<(Addr, Addr)> {
        self.has_outer.then_some((self.src, self.dst))
    }

    /// The MPLS labels recorded.
    pub fn labels(&self) -> &[u32] {
        &self.labels[..(self.label_count as usize).min(MAX_MPLS_LABELS)]
    }
}

/// The tunnel layers of a packet, outermost first (a fixed array: no allocation per packet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tunnels {
    layers: [Tunnel; MAX_TUNNEL_DEPTH],
    len: u8,
}

impl Default for Tunnels {
    fn default() -> Self {
        Tunnels::EMPTY
    }
}

impl Tunnels {
    pub const EMPTY: Tunnels = Tunnels {
        layers: [Tunnel::EMPTY; MAX_TUNNEL_DEPTH],
        len: 0,
    };

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    #[inline]
    pub fn len(&self) -> usize {
        self.len as usize
    }
    pub fn as_slice(&self) -> &[Tunnel] {
        &self.layers[..self.len as usize]
    }
    /// Add the next inner layer; `false` when [`MAX_TUNNEL_DEPTH`] layers are already there.
    pub fn push(&mut self, t: Tunnel) -> bool {
        match self.layers.get_mut(self.len as usize) {
            Some(slot) => {
                *slot = t;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// A 32-bit digest of the layers (kinds, ids, outer addresses), so that IP fragments of
    /// equal inner addresses from different tunnels are never reassembled together.
    pub fn digest(&self) -> u32 {
        let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
        for t in self.as_slice() {
            let mut v = (t.kind as u64) << 56 | t.id.map_or(0x1_0000_0000, u64::from);
            if let Some((s, d)) = t.outer() {
                v ^= super::fold(s.octets()) ^ super::fold(d.octets()).rotate_left(7);
            }
            for &l in t.labels() {
                v = v.rotate_left(9) ^ l as u64;
            }
            h = super::mix64(h ^ v);
        }
        (h ^ (h >> 32)) as u32
    }
}

/// Why a tunnel header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelError {
    /// The header is cut short (the capture's snap length, or a damaged packet).
    Truncated,
    /// A field the specification fixes has another value.
    Malformed,
}

type Result<T> = std::result::Result<T, TunnelError>;

/// The big-endian u16 at `at` (the caller has checked the length).
#[inline]
pub(super) fn be16(d: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([d[at], d[at + 1]])
}
#[inline]
fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

// ------------------------------------------------------------------------------------- GRE

/// A GRE header (RFC 2784, with the key and sequence number of RFC 2890).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreHeader {
    /// The payload's EtherType (RFC 2784 §2.4), kept whatever its value.
    pub protocol: u16,
    pub key: Option<u32>,
    pub seq: Option<u32>,
    pub header_len: usize,
}

/// GRE flag bits (RFC 2784 §2, RFC 2890 §2).
const GRE_C: u16 = 0x8000;
const GRE_R: u16 = 0x4000;
const GRE_K: u16 = 0x2000;
const GRE_S: u16 = 0x1000;
const GRE_VERSION: u16 = 0x0007;
/// RFC 2637 §4.1: the Acknowledgment Number is present (version 1).
const GRE_A: u16 = 0x0080;
/// The protocol type of PPP in GRE (RFC 2637 §4.1).
pub const GRE_PPP: u16 = 0x880B;

/// RFC 1661 §2 and RFC 1662 §3.1: a PPP frame as PPTP carries it: the Address and Control
/// fields (0xFF 0x03) unless compressed away, then the Protocol field, one byte when
/// compressed (an odd value, RFC 1661 §6.5). Returns the IP payload's offset when the
/// protocol is IPv4 (0x0021) or IPv6 (0x0057); `None` for LCP, CCP, compressed or encrypted
/// data (MPPE) and anything else, which carries no IP this decoder can read.
pub fn ppp_ip_offset(d: &[u8]) -> Option<usize> {
    let at = if d.starts_with(&[0xFF, 0x03]) { 2 } else { 0 };
    let first = *d.get(at)?;
    let (proto, len) = if first & 1 == 1 {
        (first as u16, 1)
    } else {
        (u16::from_be_bytes([first, *d.get(at + 1)?]), 2)
    };
    matches!(proto, PPP_IPV4 | PPP_IPV6).then_some(at + len)
}

/// RFC 2784 §2, RFC 2890 §2:
/// ```text
///  |C|R|K|S| Reserved0 (9) | Ver (3) |   Protocol Type (16)    |
///  |   Checksum (16, if C)           |   Reserved1 (16, if C)   |
///  |                      Key (32, if K)                         |
///  |              Sequence Number (32, if S)                     |
/// ```
///
/// Version 1 is PPTP's enhanced GRE (RFC 2637 §4.1): the K bit is always set and the key is
/// Payload Length (16) and Call ID (16); an Acknowledgment Number (32) follows the sequence
/// number when the A bit (0x0080) is set; the protocol is PPP (0x880B). `key` is then the call
/// id. `Ok(None)` for GRE this decoder does not open: other versions, a version 1 header that
/// is not PPP, and RFC 1701 source routing (R bit): the packet stays the outer one.
pub fn parse_gre(d: &[u8]) -> Result<Option<GreHeader>> {
    if d.len() < 4 {
        return Err(TunnelError::Truncated);
    }
    let flags = be16(d, 0);
    if flags & GRE_VERSION == 1 && flags & (GRE_C | GRE_R) == 0 && flags & GRE_K != 0 && be16(d, 2) == GRE_PPP {
        let len = 8 + if flags & GRE_S != 0 { 4 } else { 0 } + if flags & GRE_A != 0 { 4 } else { 0 };
        if d.len() < len {
            return Err(TunnelError::Truncated);
        }
        return Ok(Some(GreHeader {
            protocol: GRE_PPP,
            key: Some(be16(d, 6) as u32),
            seq: (flags & GRE_S != 0).then(|| be32(d, 8)),
            header_len: len,
        }));
    }
    if flags & GRE_VERSION != 0 || flags & GRE_R != 0 {
        return Ok(None);
    }
    let mut len = 4;
    if flags & GRE_C != 0 {
        len += 4;
    }
    let key_at = len;
    if flags & GRE_K != 0 {
        len += 4;
    }
    let seq_at = len;
    if flags & GRE_S != 0 {
        len += 4;
    }
    if d.len() < len {
        return Err(TunnelError::Truncated);
    }
    Ok(Some(GreHeader {
        protocol: be16(d, 2),
        key: (flags & GRE_K != 0).then(|| be32(d, key_at)),
        seq: (flags & GRE_S != 0).then(|| be32(d, seq_at)),
        header_len: len,
    }))
}

// ---------------------------------------------------------------------------------- ERSPAN

/// An ERSPAN header (draft-foschiano-erspan-03), in GRE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErspanHeader {
    /// 0 for type I (no header), else the Ver field: 1 type II, 2 type III.
    pub version: u8,
    /// Session ID (10 bits); 0 for type I.
    pub session: u16,
    /// The original frame's VLAN (12 bits; 0 when untagged or type I).
    pub vlan: u16,
    /// Bytes before the mirrored Ethernet frame.
    pub header_len: usize,
}

/// ERSPAN type II header length (draft-foschiano-erspan-03 §4.2).
pub const ERSPAN_II_LEN: usize = 8;
/// ERSPAN type III header length without the optional platform-specific subheader (§4.3).
pub const ERSPAN_III_LEN: usize = 12;
/// ERSPAN type III platform-specific subheader length, present when the O bit is set.
pub const ERSPAN_III_PLATFORM_LEN: usize = 8;

/// draft-foschiano-erspan-03:
/// - §4.1 type I: GRE protocol 0x88BE without a sequence number (S=0); no ERSPAN header, the
///   mirrored frame follows GRE directly.
/// - §4.2 type II: GRE protocol 0x88BE with S=1, then
///   `Ver(4)=1 | VLAN(12) | COS(3) | En(2) | T(1) | Session ID(10) | Reserved(12) | Index(20)`.
/// - §4.3 type III: GRE protocol 0x22EB, then
///   `Ver(4)=2 | VLAN(12) | COS(3) | BSO(2) | T(1) | Session ID(10) | Timestamp(32) |
///   SGT(16) | P(1) | FT(5) | Hw ID(6) | D(1) | Gra(2) | O(1)`, and 8 bytes of
///   platform-specific subheader when O=1.
pub fn parse_erspan(gre_protocol: u16, gre_has_seq: bool, d: &[u8]) -> Result<ErspanHeader> {
    if gre_protocol == ETHERTYPE_ERSPAN_I_II && !gre_has_seq {
        return Ok(ErspanHeader {
            version: 0,
            session: 0,
            vlan: 0,
            header_len: 0,
        });
    }
    let (want_ver, base) = if gre_protocol == ETHERTYPE_ERSPAN_III {
        (2, ERSPAN_III_LEN)
    } else {
        (1, ERSPAN_II_LEN)
    };
    if d.len() < base {
        return Err(TunnelError::Truncated);
    }
    let w0 = be16(d, 0);
    let version = (w0 >> 12) as u8;
    if version != want_ver {
        return Err(TunnelError::Malformed);
    }
    let mut header_len = base;
    if want_ver == 2 && d[11] & 0x01 != 0 {
        header_len += ERSPAN_III_PLATFORM_LEN;
        if d.len() < header_len {
            return Err(TunnelError::Truncated);
        }
    }
    Ok(ErspanHeader {
        version,
        session: be16(d, 2) & 0x03FF,
        vlan: w0 & 0x0FFF,
        header_len,
    })
}

// ----------------------------------------------------------------------------------- VXLAN

/// VXLAN header length (RFC 7348 §5).
pub const VXLAN_LEN: usize = 8;

/// RFC 7348 §5: `Flags(8: R R R R I R R R) | Reserved(24) | VNI(24) | Reserved(8)`; the I flag
/// MUST be 1 for a valid VNI, the other bits are ignored on receipt. An Ethernet frame follows.
/// Returns the VNI.
pub fn parse_vxlan(d: &[u8]) -> Result<u32> {
    if d.len() < VXLAN_LEN {
        return Err(TunnelError::Truncated);
    }
    if d[0] & 0x08 == 0 {
        return Err(TunnelError::Malformed);
    }
    Ok(be32(d, 4) >> 8)
}

// ---------------------------------------------------------------------------------- Geneve

/// A Geneve header (RFC 8926 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeneveHeader {
    pub vni: u32,
    /// The payload's EtherType (0x6558 Ethernet, 0x0800/0x86DD IP), kept whatever its value.
    pub protocol: u16,
    /// Fixed header and options.
    pub header_len: usize,
}

/// Geneve fixed header length (RFC 8926 §3.4).
pub const GENEVE_LEN: usize = 8;

/// RFC 8926 §3.4: `Ver(2)=0 | Opt Len(6) | O(1) | C(1) | Rsvd(6) | Protocol Type(16) |
/// VNI(24) | Reserved(8) | Variable-Length Options (Opt Len * 4 bytes)`. A packet with an
/// unknown version MUST be dropped (§3.4: "Ver").
pub fn parse_geneve(d: &[u8]) -> Result<GeneveHeader> {
    if d.len() < GENEVE_LEN {
        return Err(TunnelError::Truncated);
    }
    if d[0] >> 6 != 0 {
        return Err(TunnelError::Malformed);
    }
    let header_len = GENEVE_LEN + (d[0] & 0x3F) as usize * 4;
    if d.len() < header_len {
        return Err(TunnelError::Truncated);
    }
    Ok(GeneveHeader {
        vni: be32(d, 4) >> 8,
        protocol: be16(d, 2),
        header_len,
    })
}

// ----------------------------------------------------------------------------------- GTP-U

/// A GTP-U header (3GPP TS 29.281 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GtpuHeader {
    /// 255 is a G-PDU, which carries a user packet (T-PDU); the others are signalling (echo,
    /// error indication, end marker, ...).
    pub message_type: u8,
    pub teid: u32,
    /// Mandatory and optional header and extension headers: where the T-PDU starts.
    pub header_len: usize,
}

/// GTP-U message type of a G-PDU (TS 29.281 §6.1).
pub const GTPU_G_PDU: u8 = 255;
/// GTP-U mandatory header length (TS 29.281 §5.1).
pub const GTPU_LEN: usize = 8;

/// 3GPP TS 29.281 §5.1: `Version(3)=1 | PT(1)=1 | (*)(1) | E(1) | S(1) | PN(1) | Message
/// Type(8) | Length(16) | TEID(32)`; when any of E, S, PN is set, `Sequence Number(16) | N-PDU
/// Number(8) | Next Extension Header Type(8)` follow. §5.2: each extension header is
/// `Length(8, in 4-octet units) | contents | Next Extension Header Type(8)`, until type 0.
pub fn parse_gtpu(d: &[u8]) -> Result<GtpuHeader> {
    if d.len() < GTPU_LEN {
        return Err(TunnelError::Truncated);
    }
    let flags = d[0];
    if flags >> 5 != 1 || flags & 0x10 == 0 {
        return Err(TunnelError::Malformed);
    }
    let mut len = GTPU_LEN;
    if flags & 0x07 != 0 {
        if d.len() < len + 4 {
            return Err(TunnelError::Truncated);
        }
        let mut next = d[len + 3];
        len += 4;
        if flags & 0x04 != 0 {
            let mut n = 0;
            while next != 0 {
                n += 1;
                if n > MAX_GTPU_EXTENSIONS {
                    return Err(TunnelError::Malformed);
                }
                let Some(&units) = d.get(len) else {
                    return Err(TunnelError::Truncated);
                };
                if units == 0 {
                    return Err(TunnelError::Malformed);
                }
                let ext = units as usize * 4;
                if d.len() < len + ext {
                    return Err(TunnelError::Truncated);
                }
                next = d[len + ext - 1];
                len += ext;
            }
        }
    }
    Ok(GtpuHeader {
        message_type: d[1],
        teid: be32(d, 4),
        header_len: len,
    })
}

// ------------------------------------------------------------------------------------ MPLS

/// An MPLS label stack (RFC 3032 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MplsStack {
    /// Stack entries (all of them, not only those recorded).
    pub depth: u8,
    pub labels: [u32; MAX_MPLS_LABELS],
    pub header_len: usize,
    pub payload: MplsPayload,
}

/// What follows the bottom of an MPLS stack. MPLS does not say (RFC 3032 §2.2: the label
/// tells the router); like Wireshark and Suricata, the first nibble decides: 4 is IPv4, 6 is
/// IPv6, 0 is a pseudowire control word (RFC 4385 §3: first nibble 0000, 4 bytes) before an
/// Ethernet frame, anything else an Ethernet frame without a control word (RFC 4448).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MplsPayload {
    Ipv4,
    Ipv6,
    /// An Ethernet pseudowire; `header_len` includes the control word when there is one.
    Ethernet,
}

/// RFC 4385 §3 pseudowire control word length.
pub const PW_CONTROL_WORD_LEN: usize = 4;

/// RFC 3032 §2.1: each entry is `Label(20) | Traffic Class(3) | S(1) | TTL(8)`; S=1 marks the
/// bottom of the stack.
pub fn parse_mpls(d: &[u8]) -> Result<MplsStack> {
    let mut labels = [0u32; MAX_MPLS_LABELS];
    let mut at = 0;
    let mut depth = 0usize;
    loop {
        if d.len() < at + 4 {
            return Err(TunnelError::Truncated);
        }
        let e = be32(d, at);
        if depth < MAX_MPLS_LABELS {
            labels[depth] = e >> 12;
        }
        depth += 1;
        at += 4;
        if e & 0x100 != 0 {
            break;
        }
        if depth == MAX_MPLS_STACK {
            return Err(TunnelError::Malformed);
        }
    }
    let Some(&first) = d.get(at) else {
        return Err(TunnelError::Truncated);
    };
    let payload = match first >> 4 {
        4 => MplsPayload::Ipv4,
        6 => MplsPayload::Ipv6,
        0 => {
            at += PW_CONTROL_WORD_LEN;
            if d.len() < at {
                return Err(TunnelError::Truncated);
            }
            MplsPayload::Ethernet
        }
        _ => MplsPayload::Ethernet,
    };
    Ok(MplsStack {
        depth: depth as u8,
        labels,
        header_len: at,
        payload,
    })
}

// ---------------------------------------------------------------------------------- Teredo

/// Teredo (RFC 4380 §5.1.1): the UDP payload is an IPv6 packet, possibly after an
/// authentication indicator and an origin indication:
/// ```text
///  authentication: 0x0001 | ID-len (8) | AU-len (8) | Client identifier (ID-len) |
///                  Authentication value (AU-len) | Nonce (64) | Confirmation byte (8)
///  origin:         0x0000 | Origin port (16, obfuscated) | Origin address (32, obfuscated)
/// ```
/// Returns the IPv6 header's offset when one follows: version 6, a whole fixed header, and a
/// Payload Length the datagram can hold (at least what was captured, so a snap length cut is
/// still followed). `None` otherwise: the datagram stays UDP (Zeek's and tshark's test, so a
/// non-Teredo service on port 3544 is not mistaken for one).
pub fn teredo_ipv6_offset(d: &[u8]) -> Option<usize> {
    let mut at = 0;
    if d.get(..2)? == [0x00, 0x01] {
        let (id, au) = (*d.get(2)? as usize, *d.get(3)? as usize);
        at = 4 + id + au + 8 + 1;
    }
    if d.get(at..at + 2)? == [0x00, 0x00] {
        at += TEREDO_ORIGIN_LEN;
    }
    let ip = d.get(at..)?;
    if ip.len() < IPV6_HEADER_LEN || ip[0] >> 4 != 6 {
        return None;
    }
    let payload = u16::from_be_bytes([ip[4], ip[5]]) as usize;
    (IPV6_HEADER_LEN + payload >= ip.len()).then_some(at)
}

/// Teredo's origin indication (RFC 4380 §5.1.1).
pub const TEREDO_ORIGIN_LEN: usize = 8;
/// The fixed IPv6 header (RFC 8200 §3).
const IPV6_HEADER_LEN: usize = 40;

// ----------------------------------------------------------------------------------- AYIYA

/// AYIYA (draft-massar-v6ops-ayiya-02 §5):
/// ```text
///  | IDLen (4) | IDType (4) | SigLen (4) | HshMeth (4) | AutMeth (4) | OpCode (4) | NextHdr (8) |
///  |                              Epoch Time (32)                                         |
///  |   Identity (2^IDLen bytes)   |   Signature (SigLen * 4 bytes)   |   Payload ...     |
/// ```
/// Returns the payload's offset and its IP protocol (4 or 41) when the packet forwards one
/// (OpCode 1, "forward"); `None` for the other opcodes (echo, motd, ...), other next headers
/// and anything cut short, which stay UDP (as in Zeek).
pub fn ayiya_payload(d: &[u8]) -> Option<(usize, u8)> {
    let h = d.get(..AYIYA_FIXED_LEN)?;
    let id_len = 1usize << (h[0] >> 4);
    let sig_len = (h[1] >> 4) as usize * 4;
    let (opcode, next) = (h[2] & 0x0f, h[3]);
    if opcode != AYIYA_FORWARD || !matches!(next, 4 | 41) {
        return None;
    }
    let at = AYIYA_FIXED_LEN + id_len + sig_len;
    let first = *d.get(at)?;
    let version_ok = match next {
        4 => first >> 4 == 4,
        _ => first >> 4 == 6,
    };
    version_ok.then_some((at, next))
}

/// AYIYA's fixed header: the four nibble/byte fields and the epoch time.
const AYIYA_FIXED_LEN: usize = 8;
/// AYIYA OpCode "forward": a packet follows.
const AYIYA_FORWARD: u8 = 1;

// ----------------------------------------------------------------------------------- PPPoE

/// A PPPoE session header and the PPP protocol field after it (RFC 2516 §4, RFC 1661 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PppoeHeader {
    pub session: u16,
    /// 0x0021 IPv4, 0x0057 IPv6; the others (LCP 0xC021, IPCP 0x8021, ...) carry no IP.
    pub ppp_protocol: u16,
}

/// PPPoE header (6) and PPP protocol field (2).
pub const PPPOE_LEN: usize = 8;
/// PPP protocol numbers of IPv4 (RFC 1332) and IPv6 (RFC 5072).
pub const PPP_IPV4: u16 = 0x0021;
pub const PPP_IPV6: u16 = 0x0057;

/// RFC 2516 §4: `Ver(4)=1 | Type(4)=1 | Code(8)=0 | Session ID(16) | Length(16)`, then the PPP
/// payload, which starts with its 2-byte protocol field (RFC 1661 §2; PPPoE does not compress
/// it, RFC 2516 §7).
pub fn parse_pppoe_session(d: &[u8]) -> Result<PppoeHeader> {
    if d.len() < PPPOE_LEN {
        return Err(TunnelError::Truncated);
    }
    if d[0] != 0x11 || d[1] != 0 {
        return Err(TunnelError::Malformed);
    }
    Ok(PppoeHeader {
        session: be16(d, 2),
        ppp_protocol: be16(d, 6),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every strict prefix of a good header is `Truncated` (never a panic, never a success
    /// that reads past the cut).
    fn every_prefix_truncated<T: std::fmt::Debug>(good: &[u8], parse: impl Fn(&[u8]) -> Result<T>) {
        assert!(parse(good).is_ok(), "{:02x?}", good);
        for n in 0..good.len() {
            assert_eq!(
                parse(&good[..n]).unwrap_err(),
                TunnelError::Truncated,
                "prefix {n} of {:02x?}",
                good
            );
        }
    }

    /// PPTP's enhanced GRE (RFC 2637 §4.1): K and S set, payload length 44, call id 0x1234,
    /// sequence 7; with the A bit the acknowledgment number follows.
    #[test]
    fn gre_version_1_is_pptp() {
        let h = [0x30u8, 0x01, 0x88, 0x0b, 0x00, 0x2c, 0x12, 0x34, 0, 0, 0, 7];
        every_prefix_truncated(&h, parse_gre);
        let g = parse_gre(&h).unwrap().unwrap();
        assert_eq!(
            (g.protocol, g.key, g.seq, g.header_len),
            (GRE_PPP, Some(0x1234), Some(7), 12)
        );
        let ack = [0x30u8, 0x81, 0x88, 0x0b, 0, 0x2c, 0x12, 0x34, 0, 0, 0, 7, 0, 0, 0, 6];
        assert_eq!(parse_gre(&ack).unwrap().unwrap().header_len, 16);
        // version 1 that is not PPP, or without the key: not opened
        assert_eq!(parse_gre(&[0x20, 0x01, 0x08, 0x00, 0, 0, 0, 0]).unwrap(), None);
        assert_eq!(parse_gre(&[0x10, 0x01, 0x88, 0x0b, 0, 0, 0, 0]).unwrap(), None);
        // PPP: with and without address/control, protocol compressed or not
        assert_eq!(ppp_ip_offset(&[0xff, 0x03, 0x00, 0x21, 0x45]), Some(4));
        assert_eq!(ppp_ip_offset(&[0x00, 0x57, 0x60]), Some(2));
        assert_eq!(ppp_ip_offset(&[0x21, 0x45]), Some(1));
        assert_eq!(ppp_ip_offset(&[0xff, 0x03, 0xc0, 0x21]), None); // LCP
        assert_eq!(ppp_ip_offset(&[0x00, 0xfd, 0x90]), None); // MPPE
        for n in 0..4 {
            assert_eq!(ppp_ip_offset(&[0xff, 0x03, 0x00, 0x21][..n]), None);
        }
    }

    /// AYIYA forwarding IPv6 with a 16-byte identity and a 20-byte SHA-1 signature (IDLen 4,
    /// SigLen 5); an echo (OpCode 2) and an unknown next header are not opened.
    #[test]
    fn ayiya_headers() {
        let mut d = vec![0x41, 0x52, 0x11, 41, 0x5f, 0, 0, 1];
        d.extend_from_slice(&[0xaa; 16]);
        d.extend_from_slice(&[0xbb; 20]);
        d.extend_from_slice(&[0x60, 0, 0, 0, 0, 0, 59, 64]);
        assert_eq!(ayiya_payload(&d), Some((44, 41)));
        for n in 0..=44 {
            assert_eq!(ayiya_payload(&d[..n]), None, "prefix {n}");
        }
        let mut echo = d.clone();
        echo[2] = 0x12;
        assert_eq!(ayiya_payload(&echo), None);
        let mut other = d.clone();
        other[3] = 17;
        assert_eq!(ayiya_payload(&other), None);
        // next header IPv4 but an IPv6 packet follows
        let mut wrong = d.clone();
        wrong[3] = 4;
        assert_eq!(ayiya_payload(&wrong), None);
    }

    /// RFC 4380 §5.1.1: the IPv6 header after nothing, an origin indication, or an
    /// authentication indicator (ID-len 2, AU-len 1) and an origin indication.
    #[test]
    fn teredo_headers() {
        let mut ip6 = vec![0x60, 0, 0, 0, 0, 8, 17, 64];
        ip6.extend_from_slice(&[0x20; 32]);
        ip6.extend_from_slice(&[0, 53, 0, 53, 0, 8, 0, 0]);
        let origin = [0x00u8, 0x00, 0xf2, 0x27, 0x3f, 0xff, 0xfd, 0xfe];
        let auth = [0x00u8, 0x01, 2, 1, 0xaa, 0xbb, 0xcc, 1, 2, 3, 4, 5, 6, 7, 8, 0];
        for (head, at) in [
            (vec![], 0),
            (origin.to_vec(), 8),
            ([&auth[..], &origin[..]].concat(), 24),
        ] {
            let d = [&head[..], &ip6[..]].concat();
            assert_eq!(teredo_ipv6_offset(&d), Some(at), "{head:02x?}");
            // a prefix never panics; it is followed only once the whole fixed header is there
            for n in 0..d.len() {
                let got = teredo_ipv6_offset(&d[..n]);
                assert!(
                    got.is_none() || (got == Some(at) && n >= at + 40),
                    "prefix {n}: {got:?}"
                );
            }
        }
        // a payload length shorter than what follows, IPv4, and a bubble that is not IPv6
        let mut short = ip6.clone();
        short[5] = 0;
        assert_eq!(teredo_ipv6_offset(&short), None);
        assert_eq!(teredo_ipv6_offset(&[0x45; 48]), None);
        assert_eq!(teredo_ipv6_offset(&[0x00, 0x01, 0xff, 0xff]), None);
    }

    // Header bytes below are cut from the captures of fixtures/make-tunnel-fixtures.sh
    // (fixtures/pcap/tunnel-*.pcap), as noted at each; the others are built from the
    // specification.

    #[test]
    fn gre_plain_key_seq_checksum() {
        // tunnel-gre.pcap frame 1: GRE with K and S, protocol IPv4, key 0x000004d2 (1234), seq 1
        let h = [0x30, 0x00, 0x08, 0x00, 0x00, 0x00, 0x04, 0xd2, 0x00, 0x00, 0x00, 0x01];
        let g = parse_gre(&h).unwrap().unwrap();
        assert_eq!(
            g,
            GreHeader {
                protocol: 0x0800,
                key: Some(1234),
                seq: Some(1),
                header_len: 12
            }
        );
        every_prefix_truncated(&h, |d| parse_gre(d).map(|g| g.unwrap()));
        // tunnel-gre.pcap frame 13 (gretap): no flags, protocol 0x6558
        let g = parse_gre(&[0, 0, 0x65, 0x58]).unwrap().unwrap();
        assert_eq!((g.protocol, g.key, g.seq, g.header_len), (0x6558, None, None, 4));
        // checksum present (C): 4 more bytes before the key
        let c = [0xa0, 0, 0x08, 0, 0xab, 0xcd, 0, 0, 0, 0, 0, 7];
        let g = parse_gre(&c).unwrap().unwrap();
        assert_eq!((g.key, g.header_len), (Some(7), 12));
        every_prefix_truncated(&c, |d| parse_gre(d).map(|g| g.unwrap()));
        // versions other than 0 and PPTP's 1, and source routing, are not opened
        assert_eq!(parse_gre(&[0x30, 0x02, 0x88, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0]), Ok(None));
        assert_eq!(parse_gre(&[0x40, 0x00, 0x08, 0x00, 0, 0, 0, 0]), Ok(None));
    }

    #[test]
    fn erspan_types() {
        // type I (tunnel-erspan.pcap frame 1: GRE 0x88BE without S): no header
        assert_eq!(parse_erspan(0x88BE, false, &[]).unwrap().header_len, 0);
        // tunnel-erspan.pcap, type II: Ver 1, VLAN 0, COS 0, En 3, T 0, session 123, index 0
        let ii = [0x10, 0x00, 0x18, 0x7b, 0x00, 0x00, 0x00, 0x00];
        assert_eq!(
            parse_erspan(0x88BE, true, &ii).unwrap(),
            ErspanHeader {
                version: 1,
                session: 123,
                vlan: 0,
                header_len: 8
            }
        );
        every_prefix_truncated(&ii, |d| parse_erspan(0x88BE, true, d));
        // a type III header under the type II protocol number: malformed
        let mut bad = ii;
        bad[0] = 0x20;
        assert_eq!(parse_erspan(0x88BE, true, &bad), Err(TunnelError::Malformed));
        // tunnel-erspan.pcap, type III: VLAN 100, session 77, timestamp, SGT 0, P 1, FT 0,
        // hw id 7, D 0, Gra 01, O 0
        let iii = [0x20, 0x64, 0x00, 0x4d, 0x74, 0x8b, 0x9e, 0xa2, 0x00, 0x00, 0x80, 0x72];
        assert_eq!(
            parse_erspan(0x22EB, true, &iii).unwrap(),
            ErspanHeader {
                version: 2,
                session: 77,
                vlan: 100,
                header_len: 12
            }
        );
        every_prefix_truncated(&iii, |d| parse_erspan(0x22EB, true, d));
        // with the platform-specific subheader (O=1)
        let mut o = iii.to_vec();
        o[11] |= 1;
        o.extend_from_slice(&[0xAA; 8]);
        assert_eq!(parse_erspan(0x22EB, false, &o).unwrap().header_len, 20);
        every_prefix_truncated(&o, |d| parse_erspan(0x22EB, false, d));
        let mut v1 = iii;
        v1[0] = 0x10;
        assert_eq!(parse_erspan(0x22EB, true, &v1), Err(TunnelError::Malformed));
    }

    #[test]
    fn vxlan() {
        // tunnel-vxlan.pcap (the kernel's vxlan device, id 42): flags 0x08, VNI 42
        let h = [0x08, 0, 0, 0, 0, 0, 0x2a, 0];
        assert_eq!(parse_vxlan(&h), Ok(42));
        every_prefix_truncated(&h, parse_vxlan);
        // the I flag clear: not a valid VNI
        assert_eq!(parse_vxlan(&[0, 0, 0, 0, 0, 0, 0x2a, 0]), Err(TunnelError::Malformed));
        // reserved bits set are ignored on receipt (RFC 7348 §5)
        assert_eq!(parse_vxlan(&[0xff, 1, 2, 3, 0xff, 0xff, 0xff, 9]), Ok(0xFF_FFFF));
    }

    #[test]
    fn geneve() {
        // tunnel-geneve.pcap: Ver 0, Opt Len 2, protocol 0x6558, VNI 43, one option (class
        // 0x0104, type 1, one word)
        let h = [
            0x02, 0x00, 0x65, 0x58, 0x00, 0x00, 0x2b, 0x00, 0x01, 0x04, 0x01, 0x01, 0x45, 0x58, 0x57, 0x01,
        ];
        assert_eq!(
            parse_geneve(&h).unwrap(),
            GeneveHeader {
                vni: 43,
                protocol: 0x6558,
                header_len: 16
            }
        );
        every_prefix_truncated(&h, parse_geneve);
        // no options, IPv4 inside
        let o = [0x00, 0x00, 0x08, 0x00, 0, 0, 7, 0];
        assert_eq!(parse_geneve(&o).unwrap().header_len, 8);
        every_prefix_truncated(&o, parse_geneve);
        // version 1: drop
        assert_eq!(
            parse_geneve(&[0x40, 0, 0x65, 0x58, 0, 0, 1, 0]),
            Err(TunnelError::Malformed)
        );
    }

    #[test]
    fn gtpu() {
        // tunnel-gtpu.pcap frame 2 (towards a): version 1, PT 1, no optional fields, G-PDU,
        // length 60, TEID 0x0a0b0c0e
        let h = [0x30, 0xff, 0x00, 0x3c, 0x0a, 0x0b, 0x0c, 0x0e];
        assert_eq!(
            parse_gtpu(&h).unwrap(),
            GtpuHeader {
                message_type: 255,
                teid: 0x0a0b_0c0e,
                header_len: 8
            }
        );
        every_prefix_truncated(&h, parse_gtpu);
        // tunnel-gtpu.pcap frame 1 (towards b): S set, sequence number 1, N-PDU 0, next type 0
        let s = [0x32, 0xff, 0x00, 0x40, 0x00, 0x01, 0x02, 0x03, 0x00, 0x01, 0x00, 0x00];
        assert_eq!(parse_gtpu(&s).unwrap().header_len, 12);
        assert_eq!(parse_gtpu(&s).unwrap().teid, 0x0001_0203);
        every_prefix_truncated(&s, parse_gtpu);
        // E set: a PDU session container (type 0x85, 1 unit) then no more
        let e = [0x34, 0xff, 0, 8, 0, 0, 0, 9, 0, 0, 0, 0x85, 0x01, 0x10, 0x09, 0x00];
        assert_eq!(parse_gtpu(&e).unwrap().header_len, 16);
        every_prefix_truncated(&e, parse_gtpu);
        // an extension header of length 0 would loop: malformed
        let z = [0x34, 0xff, 0, 8, 0, 0, 0, 9, 0, 0, 0, 0x85, 0x00, 0x10, 0x09, 0x00];
        assert_eq!(parse_gtpu(&z), Err(TunnelError::Malformed));
        // a chain longer than the bound
        let mut long = vec![0x34, 0xff, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0x85];
        for _ in 0..=MAX_GTPU_EXTENSIONS {
            long.extend_from_slice(&[1, 0, 0, 0x85]);
        }
        assert_eq!(parse_gtpu(&long), Err(TunnelError::Malformed));
        // version 0 (GTP') and PT 0 are not GTP-U
        assert_eq!(parse_gtpu(&[0x10, 0xff, 0, 0, 0, 0, 0, 1]), Err(TunnelError::Malformed));
        assert_eq!(parse_gtpu(&[0x20, 0xff, 0, 0, 0, 0, 0, 1]), Err(TunnelError::Malformed));
        // an echo request is parsed (not a G-PDU: the caller leaves it as UDP)
        assert_eq!(
            parse_gtpu(&[0x32, 1, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0])
                .unwrap()
                .message_type,
            1
        );
    }

    #[test]
    fn mpls() {
        // tunnel-mpls.pcap: labels 100 and 101 (S=1 on the second, TTL 64), then IPv4
        let real = [0x00, 0x06, 0x40, 0x40, 0x00, 0x06, 0x51, 0x40, 0x45];
        let s = parse_mpls(&real).unwrap();
        assert_eq!(
            (s.depth, &s.labels[..2], s.header_len, s.payload),
            (2, &[100u32, 101][..], 8, MplsPayload::Ipv4)
        );
        every_prefix_truncated(&real, parse_mpls);
        // one label 100 (S=1), then IPv4
        let one = [0x00, 0x06, 0x41, 0x40, 0x45];
        let s = parse_mpls(&one).unwrap();
        assert_eq!(
            (s.depth, s.labels[0], s.header_len, s.payload),
            (1, 100, 4, MplsPayload::Ipv4)
        );
        every_prefix_truncated(&one, parse_mpls);
        // two labels (16, 17) then IPv6
        let two = [0x00, 0x01, 0x00, 0x40, 0x00, 0x01, 0x11, 0x40, 0x60];
        let s = parse_mpls(&two).unwrap();
        assert_eq!(
            (s.depth, &s.labels[..2], s.payload),
            (2, &[16u32, 17][..], MplsPayload::Ipv6)
        );
        every_prefix_truncated(&two, parse_mpls);
        // a control word (first nibble 0) before an Ethernet pseudowire
        let cw = [0x00, 0x01, 0x01, 0x40, 0x00, 0x00, 0x00, 0x00];
        let s = parse_mpls(&cw).unwrap();
        assert_eq!((s.header_len, s.payload), (8, MplsPayload::Ethernet));
        every_prefix_truncated(&cw, parse_mpls);
        // Ethernet directly, no control word (a MAC starting 0x52; one starting 0x0_ is read as
        // a control word, as Wireshark does)
        assert_eq!(parse_mpls(&[0, 1, 1, 0x40, 0x52]).unwrap().header_len, 4);
        // no bottom of stack within the bound
        let endless: Vec<u8> = [0u8, 1, 0, 0x40].repeat(MAX_MPLS_STACK + 1);
        assert_eq!(parse_mpls(&endless), Err(TunnelError::Malformed));
        // deep but bounded: six labels, the first four recorded
        let mut six: Vec<u8> = (1..=5u32).flat_map(|l| (l << 12 | 0x40).to_be_bytes()).collect();
        six.extend_from_slice(&(6u32 << 12 | 0x140).to_be_bytes());
        six.push(0x45);
        let s = parse_mpls(&six).unwrap();
        assert_eq!((s.depth, s.labels), (6, [1, 2, 3, 4]));
    }

    #[test]
    fn pppoe() {
        // tunnel-pppoe.pcap: ver/type 0x11, code 0, session 0x1234, length 62, PPP IPv4
        let h = [0x11, 0x00, 0x12, 0x34, 0x00, 0x3e, 0x00, 0x21];
        assert_eq!(
            parse_pppoe_session(&h).unwrap(),
            PppoeHeader {
                session: 0x1234,
                ppp_protocol: PPP_IPV4
            }
        );
        every_prefix_truncated(&h, parse_pppoe_session);
        // a discovery code (PADI 0x09) in a session frame, and a wrong version
        assert_eq!(
            parse_pppoe_session(&[0x11, 0x09, 0, 0, 0, 0, 0, 0x21]),
            Err(TunnelError::Malformed)
        );
        assert_eq!(
            parse_pppoe_session(&[0x21, 0x00, 0, 1, 0, 0, 0, 0x21]),
            Err(TunnelError::Malformed)
        );
    }

    #[test]
    fn kinds_and_decap() {
        for k in TunnelKind::ALL {
            assert_eq!(TunnelKind::from_name(k.name()), Some(k));
            assert!(Decap::ALL.has(k));
            assert!(!Decap::ALL.without(k).has(k));
            assert!(!Decap::NONE.has(k));
        }
        assert_eq!(TunnelKind::from_name("gretap"), None);
        let d = Decap::ALL.without(TunnelKind::Vxlan);
        assert!(!d.udp_port(VXLAN_PORT) && d.udp_port(GENEVE_PORT) && d.udp_port(GTPU_PORT));
        assert!(!Decap::ALL.udp_port(53));
        let mut t = Tunnels::EMPTY;
        for i in 0..MAX_TUNNEL_DEPTH {
            assert!(t.push(Tunnel::new(TunnelKind::Vxlan, None, Some(i as u32))));
        }
        assert!(!t.push(Tunnel::new(TunnelKind::Vxlan, None, None)));
        assert_eq!(t.len(), MAX_TUNNEL_DEPTH);
        let mut u = Tunnels::EMPTY;
        u.push(Tunnel::new(TunnelKind::Vxlan, None, Some(1)));
        let mut v = Tunnels::EMPTY;
        v.push(Tunnel::new(TunnelKind::Vxlan, None, Some(2)));
        assert_ne!(u.digest(), v.digest());
    }
}
