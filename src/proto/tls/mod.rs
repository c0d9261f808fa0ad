//! TLS: the clear-text handshake of a TLS (or SSLv2/SSLv3) connection, from the first bytes
//! of each direction until encryption starts.
//!
//! This module owns: the probe ([`probe_tls`]), the per-flow state machine ([`TlsState`], a
//! [`StreamParser`](super::StreamParser)) that reassembles records and handshake messages
//! spanning several records and TCP segments within a bounded buffer, and the owned
//! [`TlsSummary`] it produces: ClientHello and ServerHello facts, JA3/JA3S and the JA4 client
//! fingerprint, certificates sent in clear (TLS <= 1.2, both directions), alerts, and the
//! weak-protocol facts a classifier turns into `weak_tls` findings.
//!
//! Layout: [`parser`] (pure functions over `&[u8]`, borrowed output), [`ja`] (fingerprints),
//! [`cert`] (X.509 facts), [`state`] (the stream state machine).

pub mod cert;
pub mod ja;
pub mod parser;
pub mod state;
#[cfg(test)]
mod tests;

use super::{Direction, Probe};
use parser::{
    CT_APPLICATION_DATA, CT_CHANGE_CIPHER_SPEC, CT_HANDSHAKE, HS_CLIENT_HELLO, HS_SERVER_HELLO, MAX_RECORD_LEN,
};
pub use state::{MAX_HANDSHAKE_BYTES, TlsState};
use std::sync::Arc;
use tls_parser::{TlsCipherAu, TlsCipherEnc, TlsCipherKx, TlsCipherSuite};

/// Which side sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sender {
    Client,
    #[default]
    Server,
}

impl Sender {
    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Client => "client",
            Sender::Server => "server",
        }
    }
}

/// The ClientHello, owned. Lists keep wire order and unknown values; GREASE values stay in the
/// lists (see [`parser::is_grease`]) and are left out of JA3/JA4 only.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ClientHelloInfo {
    /// The version in the record header that carried the hello.
    pub record_version: u16,
    /// `legacy_version` / `client_version`.
    pub client_version: u16,
    pub supported_versions: Vec<u16>,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    pub ciphers: Vec<u16>,
    pub compression: Vec<u8>,
    pub extensions: Vec<u16>,
    pub supported_groups: Vec<u16>,
    pub signature_algorithms: Vec<u16>,
    pub key_share_groups: Vec<u16>,
    pub ec_point_formats: Vec<u8>,
    /// `legacy_session_id` (at most 32 bytes), to tell an echo in the ServerHello.
    pub session_id: Vec<u8>,
    /// A non-empty session_ticket extension (resumption attempt).
    pub session_ticket: bool,
    /// A pre_shared_key extension (TLS 1.3 resumption attempt).
    pub psk: bool,
    /// The hello came in SSLv2 CLIENT-HELLO framing (ciphers are then the 2-byte TLS ones).
    pub sslv2_format: bool,
    pub ja3: String,
    pub ja3_hash: String,
    pub ja4: String,
}

/// The ServerHello, owned.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ServerHelloInfo {
    pub record_version: u16,
    pub legacy_version: u16,
    /// supported_versions extension if present, else `legacy_version`.
    pub selected_version: u16,
    pub cipher: u16,
    pub compression: u8,
    pub extensions: Vec<u16>,
    pub alpn: Option<String>,
    pub key_share_group: Option<u16>,
    /// The server echoed the client's non-empty session id (TLS <= 1.2 resumption).
    pub session_id_echoed: bool,
    /// The server selected a PSK (TLS 1.3 resumption).
    pub psk: bool,
    /// The server answered with a session_ticket extension (it will issue a ticket).
    pub session_ticket: bool,
    pub ja3s: String,
    pub ja3s_hash: String,
}

/// One certificate seen in clear: where it was in which direction's chain, whether it was
/// valid at that moment, and the certificate's own facts (shared between every connection
/// that sent the same DER bytes, see [`cert::cert_info`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub sender: Sender,
    /// 0 = the leaf (first in the message).
    pub chain_index: usize,
    /// At the time of the packet that completed the Certificate message.
    pub expired: bool,
    pub not_yet_valid: bool,
    pub cert: Arc<Cert>,
}

/// The facts of one DER certificate.
///
/// `self_signed` is *not* a signature check (x509-parser's `verify` feature pulls in ring):
/// it is `self_issued` (subject DN == issuer DN, byte for byte) and, when both the authority
/// key identifier and the subject key identifier are present, they are equal.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Cert {
    pub der_len: usize,
    /// false when x509-parser could not read it; the fields below are then empty.
    pub parsed: bool,
    pub subject: String,
    pub issuer: String,
    pub subject_cn: Option<String>,
    pub issuer_cn: Option<String>,
    pub san_dns: Vec<String>,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// Lower-case hex of the serial's DER content bytes.
    pub serial: String,
    pub self_issued: bool,
    pub self_signed: bool,
}

/// An alert sent in clear.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AlertInfo {
    pub sender: Sender,
    pub level: u8,
    pub description: u8,
}

/// Everything learnt from one connection's handshake, owned.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TlsSummary {
    pub client_hello: Option<ClientHelloInfo>,
    pub server_hello: Option<ServerHelloInfo>,
    /// The server sent a HelloRetryRequest (RFC 8446 §4.1.4).
    pub hello_retry_request: bool,
    /// SSLv2 was negotiated (an SSLv2 SERVER-HELLO came back).
    pub sslv2: bool,
    /// The client opened with an SSLv2-format CLIENT-HELLO.
    pub sslv2_client_hello: bool,
    pub certificates: Vec<CertInfo>,
    /// Certificates beyond [`state::MAX_CERTIFICATES`] not kept.
    pub certificates_dropped: usize,
    pub alerts: Vec<AlertInfo>,
    /// A NewSessionTicket was sent in clear (TLS <= 1.2).
    pub session_ticket_issued: bool,
    /// ChangeCipherSpec seen [to server, to client].
    pub change_cipher_spec: [bool; 2],
    /// Application-data records counted by header [to server, to client].
    pub app_data_records: [u64; 2],
    /// Something contradicted its own lengths; parsing of that direction stopped.
    pub malformed: [bool; 2],
    /// A capture gap stopped parsing of that direction.
    pub gap: [bool; 2],
    /// A message larger than [`MAX_HANDSHAKE_BYTES`] stopped parsing of that direction.
    pub too_large: [bool; 2],
}

/// The name of a protocol version as tools print it.
pub fn version_name(v: u16) -> Option<&'static str> {
    Some(match v {
        0x0002 => "SSLv2",
        0x0300 => "SSLv3",
        0x0301 => "TLSv1.0",
        0x0302 => "TLSv1.1",
        0x0303 => "TLSv1.2",
        0x0304 => "TLSv1.3",
        _ => return None,
    })
}

/// The IANA name of a cipher suite (tls-parser's table).
pub fn cipher_name(id: u16) -> Option<&'static str> {
    TlsCipherSuite::from_id(id).map(|c| c.name)
}

impl TlsSummary {
    /// The negotiated version (ServerHello's selected version, or SSLv2), as a name.
    pub fn version(&self) -> Option<&'static str> {
        if self.sslv2 {
            return Some("SSLv2");
        }
        self.server_hello
            .as_ref()
            .and_then(|s| version_name(s.selected_version))
    }

    /// A session was resumed: session id echoed, or PSK selected.
    pub fn resumed(&self) -> bool {
        self.server_hello.as_ref().is_some_and(|s| s.session_id_echoed || s.psk)
    }

    /// Why this connection's protection is weak: the negotiated version (`sslv2`, `sslv3`,
    /// `tls1.0`, `tls1.1`) and the chosen cipher (`null_cipher`, `export_cipher`, `rc4`, `des`,
    /// `3des`, `anonymous`).
    pub fn weak_reasons(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        match self.version() {
            Some("SSLv2") => out.push("sslv2"),
            Some("SSLv3") => out.push("sslv3"),
            Some("TLSv1.0") => out.push("tls1.0"),
            Some("TLSv1.1") => out.push("tls1.1"),
            _ => {}
        }
        if let Some(c) = self
            .server_hello
            .as_ref()
            .and_then(|s| TlsCipherSuite::from_id(s.cipher))
        {
            if c.enc == TlsCipherEnc::Null {
                out.push("null_cipher");
            }
            if c.name.contains("EXPORT") {
                out.push("export_cipher");
            }
            match c.enc {
                TlsCipherEnc::Rc4 => out.push("rc4"),
                TlsCipherEnc::Des => out.push("des"),
                TlsCipherEnc::TripleDes => out.push("3des"),
                _ => {}
            }
            if c.au == TlsCipherAu::Null && c.kx != TlsCipherKx::Tls13 && c.kx != TlsCipherKx::Psk {
                out.push("anonymous");
            }
        }
        out
    }
}

/// Which way the first bytes of a stream that [`probe_tls`] accepted were going, when they
/// tell: a ClientHello (RFC 8446 §4.1.2; SSLv2 CLIENT-HELLO, RFC 6101 appendix E.1) goes to
/// the server, a ServerHello (§4.1.3) to the client. Any other record (application data of a
/// session picked up mid-stream) says nothing.
pub fn sender(data: &[u8]) -> Option<Direction> {
    match data {
        // record: type, version (2), length (2); handshake: msg_type
        [CT_HANDSHAKE, 3, _, _, _, HS_CLIENT_HELLO, ..] => Some(Direction::ToServer),
        [CT_HANDSHAKE, 3, _, _, _, HS_SERVER_HELLO, ..] => Some(Direction::ToClient),
        // SSLv2: two-byte length with the high bit set, then msg_type 1
        [b0, _, 1, ..] if b0 & 0x80 != 0 && probe_tls(data) == Probe::Yes => Some(Direction::ToServer),
        _ => None,
    }
}

/// Is this the start of a TLS (or SSLv2-compatible) stream? Reads at most 6 bytes, allocates
/// nothing. A TLS record header (type 20-23, version 3.0-3.4, length 1..=[`MAX_RECORD_LEN`]);
/// for a handshake record, the first message must be a ClientHello or ServerHello. An SSLv2
/// CLIENT-HELLO (two-byte header with the high bit set, message type 1, version 0x0002 or
/// 0x0300-0x0304) also answers yes.
pub fn probe_tls(data: &[u8]) -> Probe {
    let Some(&b0) = data.first() else {
        return Probe::NeedMore;
    };
    if (CT_CHANGE_CIPHER_SPEC..=CT_APPLICATION_DATA).contains(&b0) {
        let Some(h) = data.get(..5) else {
            return Probe::NeedMore;
        };
        let len = u16::from_be_bytes([h[3], h[4]]) as usize;
        if h[1] != 3 || h[2] > 4 || len == 0 || len > MAX_RECORD_LEN {
            return Probe::No;
        }
        if b0 != CT_HANDSHAKE {
            return Probe::Yes;
        }
        return match data.get(5) {
            None => Probe::NeedMore,
            Some(&HS_CLIENT_HELLO) | Some(&HS_SERVER_HELLO) => Probe::Yes,
            Some(_) => Probe::No,
        };
    }
    if b0 & 0x80 != 0 {
        let Some(h) = data.get(..5) else {
            return Probe::NeedMore;
        };
        let len = ((h[0] as usize & 0x7f) << 8) | h[1] as usize;
        let v = u16::from_be_bytes([h[3], h[4]]);
        if h[2] == 1 && len >= 9 && (v == 0x0002 || (0x0300..=0x0304).contains(&v)) {
            return Probe::Yes;
        }
    }
    Probe::No
}
