//! Pure, bounds-checked readers for connection-oriented DCE/RPC PDUs (C706 §12.6, MS-RPCE
//! §2.2.2) and endpoint-mapper towers (C706 Appendix L, MS-RPCE §2.2.1.2). Everything borrows
//! from the input; numeric fields are kept as read, known or not.

use std::fmt;

/// C706 §12.6.3.1: the common header is 16 bytes.
pub const HEADER_LEN: usize = 16;
/// MS-RPCE §2.2.2.11: sec_trailer is 8 bytes, right before the auth value.
pub const SEC_TRAILER_LEN: usize = 8;
/// C706 §12.6.4.3: `p_syntax_id_t` is a UUID and a 32-bit version, 20 bytes.
pub const SYNTAX_ID_LEN: usize = 20;
/// NDR context handles (C706 §14.3.11.5) are 20 bytes on the wire.
const CONTEXT_HANDLE_LEN: usize = 20;
/// Most floors read from one tower; towers are tiny (5 floors for ncacn_ip_tcp).
pub const MAX_TOWER_FLOORS: usize = 16;
/// Most towers or entries read from one ept_map / ept_lookup answer.
pub const MAX_EPM_TOWERS: usize = 64;

/// C706 §12.6.3.1 `pfc_flags`.
pub const PFC_FIRST_FRAG: u8 = 0x01;
pub const PFC_LAST_FRAG: u8 = 0x02;
pub const PFC_OBJECT_UUID: u8 = 0x80;

/// C706 §12.6.4 / MS-RPCE §2.2.2.1: the connection-oriented PTYPE values.
pub mod ptype {
    pub const REQUEST: u8 = 0;
    pub const RESPONSE: u8 = 2;
    pub const FAULT: u8 = 3;
    pub const BIND: u8 = 11;
    pub const BIND_ACK: u8 = 12;
    pub const BIND_NAK: u8 = 13;
    pub const ALTER_CONTEXT: u8 = 14;
    pub const ALTER_CONTEXT_RESP: u8 = 15;
    pub const AUTH3: u8 = 16;
    pub const SHUTDOWN: u8 = 17;
    pub const CO_CANCEL: u8 = 18;
    pub const ORPHANED: u8 = 19;
}

/// Name of a PTYPE (C706 §12.6.4, MS-RPCE §2.2.2.1; connectionless ones included so a
/// counted value is named whatever it is).
pub fn ptype_name(t: u8) -> Option<&'static str> {
    Some(match t {
        0 => "request",
        1 => "ping",
        2 => "response",
        3 => "fault",
        4 => "working",
        5 => "nocall",
        6 => "reject",
        7 => "ack",
        8 => "cl_cancel",
        9 => "fack",
        10 => "cancel_ack",
        11 => "bind",
        12 => "bind_ack",
        13 => "bind_nak",
        14 => "alter_context",
        15 => "alter_context_resp",
        16 => "auth3",
        17 => "shutdown",
        18 => "co_cancel",
        19 => "orphaned",
        _ => return None,
    })
}

/// True for the PTYPEs a connection-oriented (TCP) peer sends.
pub fn is_co_ptype(t: u8) -> bool {
    matches!(t, 0 | 2 | 3 | 11..=19)
}

/// MS-RPCE §2.2.1.1.7: `auth_type` names.
pub fn auth_type_name(t: u8) -> &'static str {
    match t {
        0x00 => "none",
        0x09 => "spnego",
        0x0a => "ntlmssp",
        0x0e => "schannel",
        0x10 => "kerberos",
        0x44 => "netlogon",
        0xff => "default",
        _ => "unknown",
    }
}

/// MS-RPCE §2.2.1.1.8: `auth_level` names.
pub fn auth_level_name(l: u8) -> &'static str {
    match l {
        0 => "default",
        1 => "none",
        2 => "connect",
        3 => "call",
        4 => "packet",
        5 => "packet_integrity",
        6 => "packet_privacy",
        _ => "unknown",
    }
}

/// MS-RPCE §2.2.1.1.8 `RPC_C_AUTHN_LEVEL_PKT_INTEGRITY` and `_PKT_PRIVACY`.
pub const AUTH_LEVEL_INTEGRITY: u8 = 5;
pub const AUTH_LEVEL_PRIVACY: u8 = 6;
/// MS-RPCE §2.2.1.1.7 `auth_type` values whose tokens may carry NTLMSSP.
pub const AUTH_SPNEGO: u8 = 0x09;
pub const AUTH_NTLMSSP: u8 = 0x0a;

/// Why a read failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Needs this many bytes in total.
    Incomplete(usize),
    /// Not a well-formed PDU (or structure) here.
    Invalid,
}

/// A DCE UUID in canonical (big-endian field) byte order, whatever the wire order was.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// From 16 wire bytes whose first three fields are little-endian (`le`) or big-endian
    /// (C706 Appendix A; NDR per drep).
    pub fn from_wire(b: &[u8; 16], le: bool) -> Uuid {
        let mut u = *b;
        if le {
            u[0..4].reverse();
            u[4..6].reverse();
            u[6..8].reverse();
        }
        Uuid(u)
    }

    /// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` at compile time (for the interface table).
    pub const fn parse(s: &str) -> Uuid {
        let b = s.as_bytes();
        let mut out = [0u8; 16];
        let mut i = 0;
        let mut n = 0;
        while i < b.len() {
            if b[i] == b'-' {
                i += 1;
                continue;
            }
            let hi = hex(b[i]);
            let lo = hex(b[i + 1]);
            out[n] = (hi << 4) | lo;
            n += 1;
            i += 2;
        }
        assert!(n == 16, "a UUID has 16 bytes");
        Uuid(out)
    }
}

const fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("not a hex digit"),
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let u = &self.0;
        for (i, b) in u.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// C706 §12.6.3.1 `p_syntax_id_t`: an interface or transfer syntax and its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyntaxId {
    pub uuid: Uuid,
    pub major: u16,
    pub minor: u16,
}

/// A cursor with bounds checks and the byte order from `drep`.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    d: &'a [u8],
    pos: usize,
    le: bool,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(d: &'a [u8], le: bool) -> Self {
        Reader { d, pos: 0, le }
    }
    pub(crate) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let b = self.d.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(b)
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        Some(self.bytes(1)?[0])
    }
    pub(crate) fn u16(&mut self) -> Option<u16> {
        let b = self.bytes(2)?;
        let a = [b[0], b[1]];
        Some(if self.le {
            u16::from_le_bytes(a)
        } else {
            u16::from_be_bytes(a)
        })
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        let b = self.bytes(4)?;
        let a = [b[0], b[1], b[2], b[3]];
        Some(if self.le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    }
    pub(crate) fn uuid(&mut self) -> Option<Uuid> {
        let b: &[u8; 16] = self.bytes(16)?.try_into().ok()?;
        Some(Uuid::from_wire(b, self.le))
    }
    pub(crate) fn syntax(&mut self) -> Option<SyntaxId> {
        let uuid = self.uuid()?;
        let major = self.u16()?;
        let minor = self.u16()?;
        Some(SyntaxId { uuid, major, minor })
    }
    /// NDR alignment relative to the start of the slice (C706 §14.2.2).
    pub(crate) fn align(&mut self, n: usize) -> Option<()> {
        let pad = (n - self.pos % n) % n;
        self.bytes(pad).map(|_| ())
    }
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.d.get(self.pos..).unwrap_or(&[])
    }
}

/// C706 §12.6.3.1 common header (connection-oriented).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub rpc_vers: u8,
    pub rpc_vers_minor: u8,
    pub ptype: u8,
    pub pfc_flags: u8,
    /// C706 §14.1 data representation: `drep[0]` high nibble 1 = little-endian integers,
    /// low nibble 1 = EBCDIC; `drep[1]` float format.
    pub drep: [u8; 4],
    pub frag_length: u16,
    pub auth_length: u16,
    pub call_id: u32,
}

impl Header {
    pub fn little_endian(&self) -> bool {
        self.drep[0] & 0x10 != 0
    }
    pub fn first_frag(&self) -> bool {
        self.pfc_flags & PFC_FIRST_FRAG != 0
    }
    pub fn last_frag(&self) -> bool {
        self.pfc_flags & PFC_LAST_FRAG != 0
    }
}

// C706 §12.6.3.1: rpc_vers u8 (5), rpc_vers_minor u8, PTYPE u8, pfc_flags u8,
// packed_drep[4], frag_length u16, auth_length u16, call_id u32.
/// Reads the header at the start of `d`. Checks only what every later step relies on:
/// version 5, frag_length at least the header (and sec_trailer + auth value when present).
pub fn parse_header(d: &[u8]) -> Result<Header, Error> {
    if d.len() < HEADER_LEN {
        return Err(Error::Incomplete(HEADER_LEN));
    }
    let drep = [d[4], d[5], d[6], d[7]];
    let le = drep[0] & 0x10 != 0;
    let mut r = Reader::new(&d[8..HEADER_LEN], le);
    let (Some(frag_length), Some(auth_length), Some(call_id)) = (r.u16(), r.u16(), r.u32()) else {
        return Err(Error::Incomplete(HEADER_LEN));
    };
    let h = Header {
        rpc_vers: d[0],
        rpc_vers_minor: d[1],
        ptype: d[2],
        pfc_flags: d[3],
        drep,
        frag_length,
        auth_length,
        call_id,
    };
    if h.rpc_vers != 5 || (h.frag_length as usize) < HEADER_LEN {
        return Err(Error::Invalid);
    }
    if h.auth_length > 0 && (h.frag_length as usize) < HEADER_LEN + SEC_TRAILER_LEN + h.auth_length as usize {
        return Err(Error::Invalid);
    }
    Ok(h)
}

/// MS-RPCE §2.2.2.11 sec_trailer and the auth value after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecTrailer<'a> {
    pub auth_type: u8,
    pub auth_level: u8,
    pub auth_pad_length: u8,
    pub auth_context_id: u32,
    pub value: &'a [u8],
}

/// One whole PDU split into header, body (after the header, before the auth padding and
/// sec_trailer) and the security trailer if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pdu<'a> {
    pub hdr: Header,
    pub body: &'a [u8],
    pub auth: Option<SecTrailer<'a>>,
}

// C706 §12.6.3 + MS-RPCE §2.2.2.11: the auth verifier sits at frag_length - auth_length,
// the 8-byte sec_trailer right before it, and auth_pad_length bytes of padding before that.
/// Splits one complete PDU (`d` is exactly `frag_length` bytes or more; the rest is ignored).
pub fn parse_pdu(d: &[u8]) -> Result<Pdu<'_>, Error> {
    let hdr = parse_header(d)?;
    let flen = hdr.frag_length as usize;
    let d = d.get(..flen).ok_or(Error::Incomplete(flen))?;
    if hdr.auth_length == 0 {
        return Ok(Pdu {
            hdr,
            body: &d[HEADER_LEN..],
            auth: None,
        });
    }
    let av = flen - hdr.auth_length as usize;
    let tr = av - SEC_TRAILER_LEN;
    let t = &d[tr..av];
    let le = hdr.little_endian();
    let ctx = [t[4], t[5], t[6], t[7]];
    let auth = SecTrailer {
        auth_type: t[0],
        auth_level: t[1],
        auth_pad_length: t[2],
        auth_context_id: if le {
            u32::from_le_bytes(ctx)
        } else {
            u32::from_be_bytes(ctx)
        },
        value: &d[av..],
    };
    let body_end = tr.saturating_sub(auth.auth_pad_length as usize).max(HEADER_LEN);
    Ok(Pdu {
        hdr,
        body: &d[HEADER_LEN..body_end],
        auth: Some(auth),
    })
}

/// C706 §12.6.4.3 / §12.6.4.1 bind and alter_context bodies.
#[derive(Debug, Clone)]
pub struct Bind<'a> {
    pub max_xmit_frag: u16,
    pub max_recv_frag: u16,
    pub assoc_group_id: u32,
    pub n_context_elem: u8,
    elems: Reader<'a>,
    left: u8,
}

/// C706 §12.6.3.1 `p_cont_elem_t`: one presentation context offered.
#[derive(Debug, Clone)]
pub struct ContextElem<'a> {
    pub p_cont_id: u16,
    pub abstract_syntax: SyntaxId,
    transfers: Reader<'a>,
    n_transfer: u8,
}

impl ContextElem<'_> {
    pub fn transfer_syntaxes(&self) -> impl Iterator<Item = SyntaxId> + '_ {
        let mut r = self.transfers.clone();
        (0..self.n_transfer).map_while(move |_| r.syntax())
    }
}

// C706 §12.6.4.3 rpcconn_bind_hdr_t: max_xmit_frag u16, max_recv_frag u16, assoc_group_id u32,
// p_context_elem_t { n_context_elem u8, reserved u8, reserved2 u16,
//   p_cont_elem_t[n] { p_cont_id u16, n_transfer_syn u8, reserved u8,
//                      abstract_syntax p_syntax_id_t, transfer_syntaxes p_syntax_id_t[n] } }
pub fn parse_bind(body: &[u8], le: bool) -> Result<Bind<'_>, Error> {
    let mut r = Reader::new(body, le);
    let (Some(max_xmit_frag), Some(max_recv_frag), Some(assoc_group_id), Some(n)) = (r.u16(), r.u16(), r.u32(), r.u8())
    else {
        return Err(Error::Invalid);
    };
    r.bytes(3).ok_or(Error::Invalid)?;
    Ok(Bind {
        max_xmit_frag,
        max_recv_frag,
        assoc_group_id,
        n_context_elem: n,
        elems: r,
        left: n,
    })
}

impl<'a> Iterator for Bind<'a> {
    type Item = ContextElem<'a>;
    /// The next context element; stops (early) at the first one cut short.
    fn next(&mut self) -> Option<ContextElem<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let r = &mut self.elems;
        let id = r.u16()?;
        let n = r.u8()?;
        r.u8()?;
        let abs = r.syntax()?;
        let ts = r.bytes(n as usize * SYNTAX_ID_LEN)?;
        Some(ContextElem {
            p_cont_id: id,
            abstract_syntax: abs,
            transfers: Reader::new(ts, r.le),
            n_transfer: n,
        })
    }
}

/// C706 §12.6.3.1 `p_result_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckResult {
    /// 0 acceptance, 1 user_rejection, 2 provider_rejection, 3 negotiate_ack (MS-RPCE §2.2.2.4).
    pub result: u16,
    /// provider reject reason, or the bind-time feature bitmask for negotiate_ack.
    pub reason: u16,
    pub transfer_syntax: SyntaxId,
}

/// C706 §12.6.4.4 bind_ack / alter_context_resp body.
#[derive(Debug, Clone)]
pub struct BindAck<'a> {
    pub max_xmit_frag: u16,
    pub max_recv_frag: u16,
    pub assoc_group_id: u32,
    /// `port_spec` of sec_addr (the server's secondary address, e.g. "49683\0"), may be empty.
    pub sec_addr: &'a [u8],
    pub n_results: u8,
    results: Reader<'a>,
    left: u8,
}

// C706 §12.6.4.4 rpcconn_bind_ack_hdr_t: max_xmit_frag u16, max_recv_frag u16,
// assoc_group_id u32, sec_addr { length u16, port_spec[length] }, pad to 4,
// p_result_list_t { n_results u8, reserved u8, reserved2 u16, p_result_t[n] }.
// (The body starts at PDU offset 16, so alignment relative to the body is the PDU's.)
pub fn parse_bind_ack(body: &[u8], le: bool) -> Result<BindAck<'_>, Error> {
    let mut r = Reader::new(body, le);
    let f = || Error::Invalid;
    let max_xmit_frag = r.u16().ok_or_else(f)?;
    let max_recv_frag = r.u16().ok_or_else(f)?;
    let assoc_group_id = r.u32().ok_or_else(f)?;
    let alen = r.u16().ok_or_else(f)?;
    let sec_addr = r.bytes(alen as usize).ok_or_else(f)?;
    r.align(4).ok_or_else(f)?;
    let n = r.u8().ok_or_else(f)?;
    r.bytes(3).ok_or_else(f)?;
    Ok(BindAck {
        max_xmit_frag,
        max_recv_frag,
        assoc_group_id,
        sec_addr,
        n_results: n,
        results: r,
        left: n,
    })
}

impl Iterator for BindAck<'_> {
    type Item = AckResult;
    fn next(&mut self) -> Option<AckResult> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let r = &mut self.results;
        Some(AckResult {
            result: r.u16()?,
            reason: r.u16()?,
            transfer_syntax: r.syntax()?,
        })
    }
}

/// C706 §12.6.4.9 request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    pub alloc_hint: u32,
    pub p_cont_id: u16,
    pub opnum: u16,
    pub object: Option<Uuid>,
    pub stub: &'a [u8],
}

// C706 §12.6.4.9 rpcconn_request_hdr_t: alloc_hint u32, p_cont_id u16, opnum u16,
// object uuid_t (only when PFC_OBJECT_UUID), stub data.
pub fn parse_request<'a>(body: &'a [u8], hdr: &Header) -> Result<Request<'a>, Error> {
    let mut r = Reader::new(body, hdr.little_endian());
    let alloc_hint = r.u32().ok_or(Error::Invalid)?;
    let p_cont_id = r.u16().ok_or(Error::Invalid)?;
    let opnum = r.u16().ok_or(Error::Invalid)?;
    let object = if hdr.pfc_flags & PFC_OBJECT_UUID != 0 {
        Some(r.uuid().ok_or(Error::Invalid)?)
    } else {
        None
    };
    Ok(Request {
        alloc_hint,
        p_cont_id,
        opnum,
        object,
        stub: r.rest(),
    })
}

/// C706 §12.6.4.10 response body (also the head of §12.6.4.7 fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response<'a> {
    pub alloc_hint: u32,
    pub p_cont_id: u16,
    pub cancel_count: u8,
    pub stub: &'a [u8],
}

// C706 §12.6.4.10 rpcconn_response_hdr_t: alloc_hint u32, p_cont_id u16, cancel_count u8,
// reserved u8, stub data.
pub fn parse_response(body: &[u8], le: bool) -> Result<Response<'_>, Error> {
    let mut r = Reader::new(body, le);
    let alloc_hint = r.u32().ok_or(Error::Invalid)?;
    let p_cont_id = r.u16().ok_or(Error::Invalid)?;
    let cancel_count = r.u8().ok_or(Error::Invalid)?;
    r.u8().ok_or(Error::Invalid)?;
    Ok(Response {
        alloc_hint,
        p_cont_id,
        cancel_count,
        stub: r.rest(),
    })
}

// C706 §12.6.4.7 rpcconn_fault_hdr_t: alloc_hint u32, p_cont_id u16, cancel_count u8,
// reserved u8, status u32.
/// The fault's context id and status code.
pub fn parse_fault(body: &[u8], le: bool) -> Result<(u16, u32), Error> {
    let resp = parse_response(body, le)?;
    let mut r = Reader::new(resp.stub, le);
    Ok((resp.p_cont_id, r.u32().ok_or(Error::Invalid)?))
}

// C706 §12.6.4.5 rpcconn_bind_nak_hdr_t: provider_reject_reason u16, versions supported.
/// The bind_nak reject reason.
pub fn parse_bind_nak(body: &[u8], le: bool) -> Result<u16, Error> {
    Reader::new(body, le).u16().ok_or(Error::Invalid)
}

/// C706 §12.6.3.1 p_reject_reason_t, MS-RPCE §2.2.2.5 additions.
pub fn bind_nak_reason_name(r: u16) -> &'static str {
    match r {
        0 => "reason_not_specified",
        1 => "temporary_congestion",
        2 => "local_limit_exceeded",
        3 => "called_paddr_unknown",
        4 => "protocol_version_not_supported",
        5 => "default_context_not_supported",
        6 => "user_data_not_readable",
        7 => "no_psap_available",
        8 => "authentication_type_not_recognized",
        9 => "invalid_checksum",
        _ => "unknown",
    }
}

/// C706 §12.6.3.1 p_cont_def_result_t, MS-RPCE §2.2.2.4 negotiate_ack.
pub fn ack_result_name(r: u16) -> &'static str {
    match r {
        0 => "acceptance",
        1 => "user_rejection",
        2 => "provider_rejection",
        3 => "negotiate_ack",
        _ => "unknown",
    }
}

/// C706 §12.6.3.1 p_provider_reason_t.
pub fn provider_reason_name(r: u16) -> &'static str {
    match r {
        0 => "reason_not_specified",
        1 => "abstract_syntax_not_supported",
        2 => "proposed_transfer_syntaxes_not_supported",
        3 => "local_limit_exceeded",
        _ => "unknown",
    }
}

/// Which endpoint-mapper operation announced an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpmOp {
    /// ept_lookup, opnum 2.
    Lookup,
    /// ept_map, opnum 3.
    Map,
}

/// The interesting floors of one protocol tower, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tower<'a> {
    /// Floor 1: the interface and its version.
    pub interface: Option<SyntaxId>,
    /// Floor 2: the transfer syntax.
    pub transfer: Option<SyntaxId>,
    /// 0x0b connection-oriented or 0x0a connectionless RPC.
    pub rpc_protocol: Option<u8>,
    pub tcp_port: Option<u16>,
    pub udp_port: Option<u16>,
    pub http_port: Option<u16>,
    pub ipv4: Option<[u8; 4]>,
    /// 0x0f named pipe (`\PIPE\...`) or 0x10 local RPC port name, NUL-trimmed.
    pub pipe: Option<&'a [u8]>,
    pub lrpc: Option<&'a [u8]>,
    /// 0x11 NetBIOS host name.
    pub netbios: Option<&'a [u8]>,
}

impl Tower<'_> {
    /// The RPC protocol sequence the tower names (MS-RPCE §2.1.1).
    pub fn transport(&self) -> &'static str {
        if self.tcp_port.is_some() {
            "ncacn_ip_tcp"
        } else if self.udp_port.is_some() {
            "ncadg_ip_udp"
        } else if self.http_port.is_some() {
            "ncacn_http"
        } else if self.pipe.is_some() {
            "ncacn_np"
        } else if self.lrpc.is_some() {
            "ncalrpc"
        } else {
            "unknown"
        }
    }
}

fn trim_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}

// C706 Appendix L (protocol towers), MS-RPCE §2.2.1.2: floor_count u16 LE, then floors
// { lhs_length u16 LE, lhs (protocol id u8 + data), rhs_length u16 LE, rhs }.
// Protocol ids: 0x0d UUID (lhs: uuid LE + major u16 LE; rhs: minor u16 LE), 0x0a CL / 0x0b CO
// RPC, 0x07 TCP port, 0x08 UDP port, 0x1f HTTP port (big-endian u16), 0x09 IPv4 (4 bytes),
// 0x0f named pipe, 0x10 local RPC, 0x11 NetBIOS name (strings).
pub fn parse_tower(t: &[u8]) -> Result<Tower<'_>, Error> {
    let mut r = Reader::new(t, true);
    let n = r.u16().ok_or(Error::Invalid)?;
    let mut tw = Tower::default();
    for _ in 0..(n as usize).min(MAX_TOWER_FLOORS) {
        let ll = r.u16().ok_or(Error::Invalid)?;
        let lhs = r.bytes(ll as usize).ok_or(Error::Invalid)?;
        let rl = r.u16().ok_or(Error::Invalid)?;
        let rhs = r.bytes(rl as usize).ok_or(Error::Invalid)?;
        let Some((&id, data)) = lhs.split_first() else {
            return Err(Error::Invalid);
        };
        let be16 = |b: &[u8]| b.get(..2).map(|x| u16::from_be_bytes([x[0], x[1]]));
        match id {
            0x0d => {
                let mut lr = Reader::new(data, true);
                let (Some(uuid), Some(major)) = (lr.uuid(), lr.u16()) else {
                    return Err(Error::Invalid);
                };
                let minor = rhs.get(..2).map_or(0, |x| u16::from_le_bytes([x[0], x[1]]));
                let s = SyntaxId { uuid, major, minor };
                if tw.interface.is_none() {
                    tw.interface = Some(s);
                } else if tw.transfer.is_none() {
                    tw.transfer = Some(s);
                }
            }
            0x0a | 0x0b => tw.rpc_protocol = Some(id),
            0x07 => tw.tcp_port = be16(rhs),
            0x08 => tw.udp_port = be16(rhs),
            0x1f => tw.http_port = be16(rhs),
            0x09 => tw.ipv4 = rhs.get(..4).map(|x| [x[0], x[1], x[2], x[3]]),
            0x0f => tw.pipe = Some(trim_nul(rhs)),
            0x10 => tw.lrpc = Some(trim_nul(rhs)),
            0x11 => tw.netbios = Some(trim_nul(rhs)),
            _ => {}
        }
    }
    Ok(tw)
}

/// A pointer referent or a conformance/variance count: u32 in NDR (C706 §14.3), u64 aligned
/// to 8 in NDR64 (MS-RPCE §2.2.5.3.4).
fn ndr_word(r: &mut Reader<'_>, ndr64: bool) -> Option<u64> {
    if ndr64 {
        r.align(8)?;
        let lo = r.u32()? as u64;
        let hi = r.u32()? as u64;
        Some(if r.le { lo | hi << 32 } else { hi | lo << 32 })
    } else {
        r.u32().map(u64::from)
    }
}

/// `twr_t` behind a non-null pointer: max_count, tower_length u32, octets, align 4.
fn ndr_tower<'a>(r: &mut Reader<'a>, ndr64: bool) -> Option<&'a [u8]> {
    let _max = ndr_word(r, ndr64)?;
    let len = r.u32()?;
    let t = r.bytes(len as usize)?;
    r.align(4)?;
    Some(t)
}

// MS-RPCE §3.1.1.5.1 / C706 Appendix O: ept_map([in] handle, [in, ptr] uuid_p_t object,
// [in, ptr] twr_p_t map_tower, [in, out] ept_lookup_handle_t *entry_handle,
// [in] unsigned32 max_towers, ...). NDR32: object referent u32 (+ uuid), tower referent u32
// (+ twr_t), context handle (20), max_towers u32.
/// The tower an ept_map request asks about.
pub fn parse_ept_map_request(stub: &[u8], le: bool, ndr64: bool) -> Result<Tower<'_>, Error> {
    let mut r = Reader::new(stub, le);
    let f = || Error::Invalid;
    if ndr_word(&mut r, ndr64).ok_or_else(f)? != 0 {
        r.bytes(16).ok_or_else(f)?;
    }
    if ndr_word(&mut r, ndr64).ok_or_else(f)? == 0 {
        return Err(Error::Invalid);
    }
    parse_tower(ndr_tower(&mut r, ndr64).ok_or_else(f)?)
}

/// One tower or lookup entry of an endpoint-mapper answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpmEntry<'a> {
    pub tower: Tower<'a>,
    /// ept_lookup only: the annotation string (may be empty).
    pub annotation: &'a [u8],
}

/// An endpoint-mapper answer: the towers in order and the status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpmAnswer<'a> {
    pub entries: Vec<EpmEntry<'a>>,
    pub status: Option<u32>,
}

// ept_map out: entry_handle (20), num_towers u32, towers: conformant varying array of twr_p_t
// { max_count u32, offset u32, actual_count u32, referents u32[actual] }, then the deferred
// twr_t of each non-null referent, then status u32.
/// The towers an ept_map response returns (at most [`MAX_EPM_TOWERS`]).
pub fn parse_ept_map_response(stub: &[u8], le: bool, ndr64: bool) -> Result<EpmAnswer<'_>, Error> {
    let mut r = Reader::new(stub, le);
    let f = || Error::Invalid;
    r.bytes(CONTEXT_HANDLE_LEN).ok_or_else(f)?;
    let _num = r.u32().ok_or_else(f)?;
    let _max = ndr_word(&mut r, ndr64).ok_or_else(f)?;
    let _off = ndr_word(&mut r, ndr64).ok_or_else(f)?;
    let actual = ndr_word(&mut r, ndr64).ok_or_else(f)?.min(u32::MAX as u64) as usize;
    if actual > MAX_EPM_TOWERS {
        return Err(Error::Invalid);
    }
    let mut refs = [0u64; MAX_EPM_TOWERS];
    for slot in refs.iter_mut().take(actual) {
        *slot = ndr_word(&mut r, ndr64).ok_or_else(f)?;
    }
    let mut entries = Vec::with_capacity(actual);
    for &p in &refs[..actual] {
        if p == 0 {
            continue;
        }
        let t = ndr_tower(&mut r, ndr64).ok_or_else(f)?;
        entries.push(EpmEntry {
            tower: parse_tower(t)?,
            annotation: &[],
        });
    }
    Ok(EpmAnswer {
        entries,
        status: r.u32(),
    })
}

// ept_lookup out: entry_handle (20), num_ents u32, entries: conformant varying array of
// ept_entry_t { object uuid_t, tower twr_p_t (referent u32), annotation: varying char[64]
// { offset u32, actual_count u32, chars, align 4 } }, then the deferred towers, then status.
/// The entries an ept_lookup response returns (at most [`MAX_EPM_TOWERS`]).
pub fn parse_ept_lookup_response(stub: &[u8], le: bool, ndr64: bool) -> Result<EpmAnswer<'_>, Error> {
    let mut r = Reader::new(stub, le);
    let f = || Error::Invalid;
    r.bytes(CONTEXT_HANDLE_LEN).ok_or_else(f)?;
    let _num = r.u32().ok_or_else(f)?;
    let _max = ndr_word(&mut r, ndr64).ok_or_else(f)?;
    let _off = ndr_word(&mut r, ndr64).ok_or_else(f)?;
    let actual = ndr_word(&mut r, ndr64).ok_or_else(f)?.min(u32::MAX as u64) as usize;
    if actual > MAX_EPM_TOWERS {
        return Err(Error::Invalid);
    }
    let mut heads: [(u64, &[u8]); MAX_EPM_TOWERS] = [(0, &[]); MAX_EPM_TOWERS];
    for h in heads.iter_mut().take(actual) {
        if ndr64 {
            r.align(8).ok_or_else(f)?;
        }
        r.bytes(16).ok_or_else(f)?;
        let p = ndr_word(&mut r, ndr64).ok_or_else(f)?;
        let _aoff = ndr_word(&mut r, ndr64).ok_or_else(f)?;
        let alen = ndr_word(&mut r, ndr64).ok_or_else(f)?.min(u32::MAX as u64);
        let a = r.bytes(alen as usize).ok_or_else(f)?;
        r.align(4).ok_or_else(f)?;
        *h = (p, trim_nul(a));
    }
    let mut entries = Vec::with_capacity(actual);
    for &(p, annotation) in &heads[..actual] {
        if p == 0 {
            continue;
        }
        let t = ndr_tower(&mut r, ndr64).ok_or_else(f)?;
        entries.push(EpmEntry {
            tower: parse_tower(t)?,
            annotation,
        });
    }
    Ok(EpmAnswer {
        entries,
        status: r.u32(),
    })
}

/// MS-RPCE §3.3.1.5.3: the bind-time feature negotiation transfer syntax is
/// `6cb71c2c-9812-4540-xxxx-xxxxxxxxxxxx`, the last 8 bytes a feature bitmask.
pub fn is_bind_time_feature_negotiation(s: &SyntaxId) -> bool {
    s.uuid.0[..8] == [0x6c, 0xb7, 0x1c, 0x2c, 0x98, 0x12, 0x45, 0x40]
}
