//! Pure parsers over `&[u8]` for the clear-text part of a TLS connection: record headers,
//! handshake message headers, ClientHello / ServerHello (bodies through tls-parser, extensions
//! here so every extension id is kept in wire order, unknown ones included), the SSLv2
//! CLIENT-HELLO, and alerts. Output borrows from the input.

use tls_parser::parse_tls_handshake_client_hello;

/// RFC 8446 §5.1: `TLSPlaintext.length` MUST NOT exceed 2^14; TLSCiphertext may add 256 (1.3)
/// or 2048 (1.2, RFC 5246 §6.2.3). We accept the larger.
pub const MAX_RECORD_LEN: usize = 16_384 + 2_048;
/// Record header: type (1), version (2), length (2).
pub const RECORD_HEADER_LEN: usize = 5;
/// Handshake header: msg_type (1), length (3).
pub const HANDSHAKE_HEADER_LEN: usize = 4;
/// The special ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3).
pub const HRR_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11,
    0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

pub const CT_CHANGE_CIPHER_SPEC: u8 = 20;
pub const CT_ALERT: u8 = 21;
pub const CT_HANDSHAKE: u8 = 22;
pub const CT_APPLICATION_DATA: u8 = 23;
pub const CT_HEARTBEAT: u8 = 24;

pub const HS_CLIENT_HELLO: u8 = 1;
pub const HS_SERVER_HELLO: u8 = 2;
pub const HS_NEW_SESSION_TICKET: u8 = 4;
pub const HS_CERTIFICATE: u8 = 11;

pub const EXT_SERVER_NAME: u16 = 0;
pub const EXT_SUPPORTED_GROUPS: u16 = 10;
pub const EXT_EC_POINT_FORMATS: u16 = 11;
pub const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
pub const EXT_ALPN: u16 = 16;
pub const EXT_SESSION_TICKET: u16 = 35;
pub const EXT_PRE_SHARED_KEY: u16 = 41;
pub const EXT_SUPPORTED_VERSIONS: u16 = 43;
pub const EXT_KEY_SHARE: u16 = 51;

/// Why a message was rejected: not enough bytes, or bytes that contradict their own lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsError {
    /// More bytes are needed (streaming).
    Incomplete,
    /// A length or value that cannot be right; the message is not reported.
    Malformed,
}

/// RFC 8446 §7.4 / RFC 8701: GREASE values are 0x?A?A with both bytes equal.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Split `len`-prefixed (1 or 2 byte big-endian) data off the front; `None` if it overflows.
fn take_prefixed(b: &[u8], prefix: usize) -> Option<(&[u8], &[u8])> {
    let n = match prefix {
        1 => *b.first()? as usize,
        _ => be16(b, 0)? as usize,
    };
    let body = b.get(prefix..prefix + n)?;
    Some((body, b.get(prefix + n..)?))
}

/// A list of big-endian u16 (odd lengths rejected).
fn u16_list(b: &[u8]) -> Option<Vec<u16>> {
    if !b.len().is_multiple_of(2) {
        return None;
    }
    Some(b.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect())
}

// struct { ContentType type; ProtocolVersion legacy_record_version; uint16 length; } (RFC 8446 §5.1)
/// A TLS record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsRecordHeader {
    pub content_type: u8,
    pub version: u16,
    pub len: u16,
}

/// Parse a record header; `Malformed` when it cannot be TLS (type outside 20-24, major != 3,
/// length over [`MAX_RECORD_LEN`]).
pub fn parse_tls_record_header(b: &[u8]) -> Result<TlsRecordHeader, TlsError> {
    let h = match b.get(..RECORD_HEADER_LEN) {
        Some(h) => h,
        None => return Err(TlsError::Incomplete),
    };
    let hdr = TlsRecordHeader {
        content_type: h[0],
        version: u16::from_be_bytes([h[1], h[2]]),
        len: u16::from_be_bytes([h[3], h[4]]),
    };
    if !(CT_CHANGE_CIPHER_SPEC..=CT_HEARTBEAT).contains(&hdr.content_type)
        || hdr.version >> 8 != 3
        || hdr.len as usize > MAX_RECORD_LEN
    {
        return Err(TlsError::Malformed);
    }
    Ok(hdr)
}

// struct { HandshakeType msg_type; uint24 length; select (msg_type) {...} } (RFC 8446 §4)
/// Split one whole handshake message (type, body) off the front of reassembled handshake bytes.
pub fn parse_tls_handshake_message(b: &[u8]) -> Result<(u8, &[u8], &[u8]), TlsError> {
    let (Some(&t), Some(l)) = (b.first(), b.get(1..HANDSHAKE_HEADER_LEN)) else {
        return Err(TlsError::Incomplete);
    };
    let len = (l[0] as usize) << 16 | (l[1] as usize) << 8 | l[2] as usize;
    match b.get(HANDSHAKE_HEADER_LEN..HANDSHAKE_HEADER_LEN + len) {
        Some(body) => Ok((t, body, &b[HANDSHAKE_HEADER_LEN + len..])),
        None => Err(TlsError::Incomplete),
    }
}

/// The length a handshake message claims (header included), if the header is there.
pub fn handshake_message_len(b: &[u8]) -> Option<usize> {
    let l = b.get(1..HANDSHAKE_HEADER_LEN)?;
    Some(HANDSHAKE_HEADER_LEN + ((l[0] as usize) << 16 | (l[1] as usize) << 8 | l[2] as usize))
}

// struct { ExtensionType extension_type; opaque extension_data<0..2^16-1>; } Extension;
// (RFC 8446 §4.2)
/// Split an extensions block into `(type, data)` in wire order; `None` if a length overflows.
pub fn parse_tls_extensions(mut b: &[u8]) -> Option<Vec<(u16, &[u8])>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let t = be16(b, 0)?;
        let (data, rest) = take_prefixed(b.get(2..)?, 2)?;
        out.push((t, data));
        b = rest;
    }
    Some(out)
}

/// A parsed ClientHello (TLS 1.0-1.3 layout, RFC 8446 §4.1.2 / RFC 5246 §7.4.1.2), borrowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsClientHello<'a> {
    /// `legacy_version` / `client_version`.
    pub version: u16,
    pub session_id: &'a [u8],
    pub ciphers: Vec<u16>,
    pub compression: Vec<u8>,
    pub extensions: Vec<(u16, &'a [u8])>,
}

// struct { ProtocolVersion legacy_version = 0x0303; Random random; opaque legacy_session_id<0..32>;
//          CipherSuite cipher_suites<2..2^16-2>; opaque legacy_compression_methods<1..2^8-1>;
//          Extension extensions<8..2^16-1>; } ClientHello;   (RFC 8446 §4.1.2)
/// Parse a ClientHello body (after the 4-byte handshake header). The body must be consumed
/// exactly: trailing bytes or an extensions length that overflows is `Malformed`.
pub fn parse_tls_client_hello(body: &[u8]) -> Result<TlsClientHello<'_>, TlsError> {
    let (rest, ch) = parse_tls_handshake_client_hello(body).map_err(|_| TlsError::Malformed)?;
    if !rest.is_empty() {
        return Err(TlsError::Malformed);
    }
    let extensions = match ch.ext {
        Some(e) => parse_tls_extensions(e).ok_or(TlsError::Malformed)?,
        None => Vec::new(),
    };
    Ok(TlsClientHello {
        version: ch.version.0,
        session_id: ch.session_id.unwrap_or_default(),
        ciphers: ch.ciphers.iter().map(|c| c.0).collect(),
        compression: ch.comp.iter().map(|c| c.0).collect(),
        extensions,
    })
}

/// A parsed ServerHello, borrowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsServerHello<'a> {
    pub version: u16,
    pub random: &'a [u8],
    pub session_id: &'a [u8],
    pub cipher: u16,
    pub compression: u8,
    pub extensions: Vec<(u16, &'a [u8])>,
}

impl TlsServerHello<'_> {
    /// RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest.
    pub fn is_hello_retry_request(&self) -> bool {
        self.random == HRR_RANDOM
    }
}

// struct { ProtocolVersion legacy_version = 0x0303; Random random;
//          opaque legacy_session_id_echo<0..32>; CipherSuite cipher_suite;
//          uint8 legacy_compression_method = 0; Extension extensions<6..2^16-1>; } ServerHello;
// (RFC 8446 §4.1.3; SSLv3 has no extensions)
/// Parse a ServerHello body; consumed exactly, else `Malformed`. Written here rather than with
/// tls-parser, which refuses SSLv3 hellos that carry extensions (renegotiation_info) and
/// legacy versions other than 3.0-3.3.
pub fn parse_tls_server_hello(body: &[u8]) -> Result<TlsServerHello<'_>, TlsError> {
    let m = TlsError::Malformed;
    let version = be16(body, 0).ok_or(m)?;
    let random = body.get(2..34).ok_or(m)?;
    let (session_id, rest) = take_prefixed(body.get(34..).ok_or(m)?, 1).ok_or(m)?;
    if session_id.len() > 32 {
        return Err(m);
    }
    let cipher = be16(rest, 0).ok_or(m)?;
    let compression = *rest.get(2).ok_or(m)?;
    let rest = rest.get(3..).ok_or(m)?;
    let extensions = if rest.is_empty() {
        Vec::new()
    } else {
        let (ext, tail) = take_prefixed(rest, 2).ok_or(m)?;
        if !tail.is_empty() {
            return Err(m);
        }
        parse_tls_extensions(ext).ok_or(m)?
    };
    Ok(TlsServerHello {
        version,
        random,
        session_id,
        cipher,
        compression,
        extensions,
    })
}

// struct { NameType name_type; select (name_type) { case host_name: HostName; } name; } ServerName;
// struct { ServerName server_name_list<1..2^16-1> } ServerNameList;   (RFC 6066 §3)
/// The first `host_name` of a server_name extension.
pub fn parse_ext_sni(d: &[u8]) -> Option<&[u8]> {
    let (mut list, _) = take_prefixed(d, 2)?;
    while !list.is_empty() {
        let t = *list.first()?;
        let (name, rest) = take_prefixed(list.get(1..)?, 2)?;
        if t == 0 {
            return Some(name);
        }
        list = rest;
    }
    None
}

// opaque ProtocolName<1..2^8-1>; struct { ProtocolName protocol_name_list<2..2^16-1> }
// (RFC 7301 §3.1)
/// The protocol names of an ALPN extension, in order.
pub fn parse_ext_alpn(d: &[u8]) -> Option<Vec<&[u8]>> {
    let (mut list, _) = take_prefixed(d, 2)?;
    let mut out = Vec::new();
    while !list.is_empty() {
        let (p, rest) = take_prefixed(list, 1)?;
        out.push(p);
        list = rest;
    }
    Some(out)
}

/// `uint16 list<..2^16-1>` (supported_groups RFC 8446 §4.2.7, signature_algorithms §4.2.3).
pub fn parse_ext_u16_list(d: &[u8]) -> Option<Vec<u16>> {
    u16_list(take_prefixed(d, 2)?.0)
}

/// `ECPointFormat ec_point_format_list<1..2^8-1>` (RFC 8422 §5.1.2).
pub fn parse_ext_ec_point_formats(d: &[u8]) -> Option<Vec<u8>> {
    Some(take_prefixed(d, 1)?.0.to_vec())
}

/// ClientHello `ProtocolVersion versions<2..254>` (RFC 8446 §4.2.1).
pub fn parse_ext_supported_versions_client(d: &[u8]) -> Option<Vec<u16>> {
    u16_list(take_prefixed(d, 1)?.0)
}

// struct { NamedGroup group; opaque key_exchange<1..2^16-1>; } KeyShareEntry;
// struct { KeyShareEntry client_shares<0..2^16-1>; } KeyShareClientHello;  (RFC 8446 §4.2.8)
/// The groups of a ClientHello key_share extension.
pub fn parse_ext_key_share_client(d: &[u8]) -> Option<Vec<u16>> {
    let (mut list, _) = take_prefixed(d, 2)?;
    let mut out = Vec::new();
    while !list.is_empty() {
        out.push(be16(list, 0)?);
        let (_, rest) = take_prefixed(list.get(2..)?, 2)?;
        list = rest;
    }
    Some(out)
}

/// The group of a ServerHello key_share (a KeyShareEntry) or HelloRetryRequest (a NamedGroup).
pub fn parse_ext_key_share_server(d: &[u8]) -> Option<u16> {
    be16(d, 0)
}

/// An SSLv2 CLIENT-HELLO (draft-hickman-netscape-ssl-00, also sent by SSLv3/TLS clients for
/// compatibility, RFC 5246 Appendix E.2), borrowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sslv2ClientHello<'a> {
    pub version: u16,
    /// 3-byte cipher specs, as u32.
    pub cipher_specs: Vec<u32>,
    pub challenge: &'a [u8],
}

// uint8 msg_length[2] (high bit set); uint8 msg_type = 1; Version version;
// uint16 cipher_spec_length; uint16 session_id_length; uint16 challenge_length;
// V2CipherSpec cipher_specs[..]; opaque session_id[..]; opaque challenge[..];  (RFC 5246 E.2)
/// Parse an SSLv2 CLIENT-HELLO from the start of a stream.
pub fn parse_sslv2_client_hello(b: &[u8]) -> Result<(Sslv2ClientHello<'_>, usize), TlsError> {
    let (Some(&b0), Some(&b1)) = (b.first(), b.get(1)) else {
        return Err(TlsError::Incomplete);
    };
    if b0 & 0x80 == 0 {
        return Err(TlsError::Malformed);
    }
    let len = ((b0 as usize & 0x7f) << 8) | b1 as usize;
    let Some(msg) = b.get(2..2 + len) else {
        return Err(TlsError::Incomplete);
    };
    let (Some(&1), Some(version), Some(cs_len), Some(sid_len), Some(ch_len)) =
        (msg.first(), be16(msg, 1), be16(msg, 3), be16(msg, 5), be16(msg, 7))
    else {
        return Err(TlsError::Malformed);
    };
    let (cs_len, sid_len, ch_len) = (cs_len as usize, sid_len as usize, ch_len as usize);
    if !cs_len.is_multiple_of(3) || 9 + cs_len + sid_len + ch_len != msg.len() {
        return Err(TlsError::Malformed);
    }
    let specs = msg.get(9..9 + cs_len).ok_or(TlsError::Malformed)?;
    let challenge = msg.get(9 + cs_len + sid_len..).ok_or(TlsError::Malformed)?;
    let cipher_specs = specs
        .chunks_exact(3)
        .map(|c| (c[0] as u32) << 16 | (c[1] as u32) << 8 | c[2] as u32)
        .collect();
    Ok((
        Sslv2ClientHello {
            version,
            cipher_specs,
            challenge,
        },
        2 + len,
    ))
}

// struct { CertificateList certificate_list<0..2^24-1>; } Certificate;
// opaque ASN.1Cert<1..2^24-1>;  (RFC 5246 §7.4.2)
/// The DER certificates of a TLS <= 1.2 Certificate message; `None` if a length lies.
pub fn parse_tls12_certificate_list(body: &[u8]) -> Option<Vec<&[u8]>> {
    let u24 = |b: &[u8], at: usize| -> Option<usize> {
        let l = b.get(at..at + 3)?;
        Some((l[0] as usize) << 16 | (l[1] as usize) << 8 | l[2] as usize)
    };
    let total = u24(body, 0)?;
    let mut list = body.get(3..3 + total)?;
    if body.len() != 3 + total {
        return None;
    }
    let mut out = Vec::new();
    while !list.is_empty() {
        let n = u24(list, 0)?;
        out.push(list.get(3..3 + n)?);
        list = list.get(3 + n..)?;
    }
    Some(out)
}
