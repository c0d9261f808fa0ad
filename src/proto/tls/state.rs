//! The per-flow TLS state machine: record and handshake-message reassembly per direction,
//! within bounded buffers, until the handshake goes encrypted.

use super::cert::cert_info;
use super::ja::{Ja4Input, ja3_string, ja3s_string, ja4, md5_hex};
use super::parser::*;
use super::{AlertInfo, ClientHelloInfo, Sender, ServerHelloInfo, TlsSummary};
use crate::proto::{Direction, StreamParser, Verdict};

/// Largest handshake message (or run of messages) reassembled per direction. A post-quantum
/// ClientHello is ~1.8 kB, a long certificate chain ~10 kB; 64 KiB is generous.
pub const MAX_HANDSHAKE_BYTES: usize = 64 * 1024;
/// Certificates kept per connection (both directions together).
pub const MAX_CERTIFICATES: usize = 16;
/// Clear-text alerts kept per connection.
pub const MAX_ALERTS: usize = 16;
/// Shortest SSLv2 message body we accept (CLIENT-HELLO without cipher specs or challenge).
const SSLV2_MIN_MESSAGE: usize = 9;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Handshake in clear.
    #[default]
    Clear,
    /// After ChangeCipherSpec or application data: records are only counted.
    Encrypted,
    /// Nothing more is read from this direction (gap, malformed, limit, SSLv2 server).
    Done,
}

#[derive(Debug, Default)]
struct Side {
    phase: Phase,
    /// The record being assembled (header + body), at most 5 + [`MAX_RECORD_LEN`] bytes.
    rec: Vec<u8>,
    /// Bytes of an uninteresting record body still to skip.
    skip: usize,
    /// Handshake bytes not yet forming a whole message.
    hs: Vec<u8>,
    /// The record version that carried the first byte of `hs`.
    hs_record_version: u16,
    /// Any byte seen yet (the SSLv2 check applies to the first bytes only).
    started: bool,
    /// The stream opened with SSLv2 framing: `rec` holds the SSLv2 record.
    sslv2: bool,
}

impl Side {
    fn finish(&mut self) {
        self.phase = Phase::Done;
        self.rec = Vec::new();
        self.hs = Vec::new();
    }

    /// The handshake of this direction is over: from now on `rec` holds at most a record
    /// header, so the buffers sized for handshake records (a certificate chain split across
    /// segments: several KiB) are given back rather than held for the life of the flow.
    fn encrypted(&mut self) {
        self.phase = Phase::Encrypted;
        self.hs = Vec::new();
        if self.rec.capacity() > ENCRYPTED_REC_CAPACITY {
            self.rec = Vec::new();
        }
    }
}

/// Largest `rec` buffer kept once a direction is encrypted (record headers only).
const ENCRYPTED_REC_CAPACITY: usize = 64;

/// The TLS stream parser of one flow (see the module doc).
#[derive(Debug, Default)]
pub struct TlsState {
    sides: [Side; 2],
    summary: TlsSummary,
    /// TLS 1.3 selected or SSLv2 negotiated: the rest is encrypted.
    stopped: bool,
}

fn sender(dir: Direction) -> Sender {
    match dir {
        Direction::ToServer => Sender::Client,
        Direction::ToClient => Sender::Server,
    }
}

impl TlsState {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn summary(&self) -> &TlsSummary {
        &self.summary
    }

    fn verdict(&self) -> Verdict {
        if self.stopped || self.sides.iter().all(|s| s.phase != Phase::Clear) {
            Verdict::Stop
        } else {
            Verdict::Continue
        }
    }

    fn fail(&mut self, d: usize, malformed: bool) {
        if malformed {
            self.summary.malformed[d] = true;
        } else {
            self.summary.too_large[d] = true;
        }
        self.sides[d].finish();
    }

    /// SSLv2 framing on the first bytes of a direction (RFC 5246 Appendix E.2).
    fn feed_sslv2<'a>(&mut self, dir: Direction, input: &'a [u8]) -> &'a [u8] {
        let d = dir.index();
        let side = &mut self.sides[d];
        // The two-byte header tells the record length; take exactly that much.
        let want = if side.rec.len() < 2 {
            2
        } else {
            2 + (((side.rec[0] as usize & 0x7f) << 8) | side.rec[1] as usize)
        };
        // The shortest SSLv2 message is a 9-byte CLIENT-HELLO header (a SERVER-HELLO is longer).
        if want < 2 + SSLV2_MIN_MESSAGE && side.rec.len() >= 2 {
            self.fail(d, true);
            return &[];
        }
        let n = want.saturating_sub(side.rec.len()).min(input.len());
        side.rec.extend_from_slice(&input[..n]);
        let rest = &input[n..];
        if side.rec.len() < want || want == 2 {
            return rest;
        }
        let rec = std::mem::take(&mut side.rec);
        side.sslv2 = false;
        match dir {
            Direction::ToServer => match parse_sslv2_client_hello(&rec) {
                Ok((ch, _)) => {
                    self.summary.sslv2_client_hello = true;
                    if self.summary.client_hello.is_none() {
                        self.summary.client_hello = Some(ClientHelloInfo {
                            record_version: 0x0002,
                            client_version: ch.version,
                            // V2CipherSpecs with a zero first byte are the TLS suites.
                            ciphers: ch
                                .cipher_specs
                                .iter()
                                .filter(|&&c| c >> 16 == 0)
                                .map(|&c| c as u16)
                                .collect(),
                            sslv2_format: true,
                            ..ClientHelloInfo::default()
                        });
                    }
                }
                Err(_) => self.fail(d, true),
            },
            Direction::ToClient => {
                // SERVER-HELLO is message type 4: SSLv2 itself was negotiated.
                if rec.get(2) == Some(&4) {
                    self.summary.sslv2 = true;
                    self.stopped = true;
                } else {
                    self.fail(d, true);
                }
            }
        }
        rest
    }

    fn feed_records(&mut self, dir: Direction, mut input: &[u8], ts_ns: u64) {
        let d = dir.index();
        while !input.is_empty() && !self.stopped && self.sides[d].phase != Phase::Done {
            let side = &mut self.sides[d];
            if !side.started {
                side.started = true;
                let b0 = input[0];
                side.sslv2 = b0 & 0x80 != 0;
            }
            if side.sslv2 {
                input = self.feed_sslv2(dir, input);
                continue;
            }
            if side.skip > 0 {
                let n = side.skip.min(input.len());
                side.skip -= n;
                input = &input[n..];
                continue;
            }
            // A whole handshake/alert record in the chunk: parse it where it lies.
            if side.rec.is_empty()
                && side.phase == Phase::Clear
                && let Ok(hdr) = parse_tls_record_header(input)
                && hdr.content_type != CT_APPLICATION_DATA
                && input.len() >= RECORD_HEADER_LEN + hdr.len as usize
            {
                let total = RECORD_HEADER_LEN + hdr.len as usize;
                self.on_record(dir, hdr, &input[RECORD_HEADER_LEN..total], ts_ns);
                input = &input[total..];
                continue;
            }
            if side.rec.len() < RECORD_HEADER_LEN {
                let n = (RECORD_HEADER_LEN - side.rec.len()).min(input.len());
                side.rec.extend_from_slice(&input[..n]);
                input = &input[n..];
                continue;
            }
            let hdr = match parse_tls_record_header(&side.rec) {
                Ok(h) => h,
                Err(_) => {
                    self.fail(d, true);
                    break;
                }
            };
            if side.phase == Phase::Encrypted || hdr.content_type == CT_APPLICATION_DATA {
                // Count by header, skip the body.
                side.skip = hdr.len as usize;
                side.rec.clear();
                if hdr.content_type == CT_APPLICATION_DATA {
                    self.summary.app_data_records[d] += 1;
                    if side.phase != Phase::Encrypted {
                        side.encrypted();
                    }
                }
                continue;
            }
            let total = RECORD_HEADER_LEN + hdr.len as usize;
            let n = (total - side.rec.len()).min(input.len());
            // one allocation for a record split across segments, not a doubling series
            side.rec.reserve_exact(total - side.rec.len());
            side.rec.extend_from_slice(&input[..n]);
            input = &input[n..];
            if side.rec.len() == total {
                let rec = std::mem::take(&mut side.rec);
                self.on_record(dir, hdr, &rec[RECORD_HEADER_LEN..], ts_ns);
                let side = &mut self.sides[d];
                // the buffer is reused while handshake records may still come; once encrypted
                // only a small one is kept (see Side::encrypted)
                if side.phase == Phase::Clear
                    || (side.phase == Phase::Encrypted && rec.capacity() <= ENCRYPTED_REC_CAPACITY)
                {
                    side.rec = rec;
                    side.rec.clear();
                }
            }
        }
    }

    fn on_record(&mut self, dir: Direction, hdr: TlsRecordHeader, body: &[u8], ts_ns: u64) {
        let d = dir.index();
        match hdr.content_type {
            CT_CHANGE_CIPHER_SPEC => {
                self.summary.change_cipher_spec[d] = true;
                // RFC 8446 §5 / D.4: in TLS 1.3 a ChangeCipherSpec is only middlebox
                // camouflage (e.g. right after a HelloRetryRequest); the hellos stay in clear.
                let tls13 = match (&self.summary.server_hello, &self.summary.client_hello) {
                    (Some(sh), _) => sh.selected_version == 0x0304,
                    (None, Some(ch)) => ch.supported_versions.contains(&0x0304),
                    (None, None) => false,
                };
                if !tls13 {
                    self.sides[d].encrypted();
                }
            }
            CT_ALERT => {
                // struct { AlertLevel level; AlertDescription description; } Alert; (RFC 8446 §6)
                for a in body.chunks_exact(2) {
                    if self.summary.alerts.len() < MAX_ALERTS {
                        self.summary.alerts.push(AlertInfo {
                            sender: sender(dir),
                            level: a[0],
                            description: a[1],
                        });
                    }
                }
            }
            CT_HANDSHAKE => self.on_handshake_bytes(dir, hdr.version, body, ts_ns),
            _ => {}
        }
    }

    fn on_handshake_bytes(&mut self, dir: Direction, record_version: u16, body: &[u8], ts_ns: u64) {
        let d = dir.index();
        let side = &mut self.sides[d];
        if side.hs.is_empty() {
            // The usual case: the record starts with a message; parse in place, keep only a
            // message that continues in the next record.
            side.hs_record_version = record_version;
            if let Some(left) = self.messages(dir, record_version, body, ts_ns) {
                self.sides[d].hs.extend_from_slice(&body[body.len() - left..]);
            }
            return;
        }
        if side.hs.len() + body.len() > MAX_HANDSHAKE_BYTES {
            self.fail(d, false);
            return;
        }
        side.hs.extend_from_slice(body);
        let mut hs = std::mem::take(&mut side.hs);
        if let Some(left) = self.messages(dir, record_version, &hs, ts_ns) {
            hs.drain(..hs.len() - left);
            self.sides[d].hs = hs;
        }
    }

    /// Handle every whole handshake message at the start of `buf`. Returns how many bytes at
    /// its end begin a message not yet complete, or `None` when this direction is finished.
    fn messages(&mut self, dir: Direction, record_version: u16, buf: &[u8], ts_ns: u64) -> Option<usize> {
        let d = dir.index();
        let mut rest = buf;
        loop {
            match parse_tls_handshake_message(rest) {
                Ok((t, msg, r)) => {
                    let rv = self.sides[d].hs_record_version;
                    self.on_message(dir, rv, t, msg, ts_ns);
                    self.sides[d].hs_record_version = record_version;
                    rest = r;
                    if self.stopped || self.sides[d].phase != Phase::Clear {
                        return None;
                    }
                }
                Err(_) => {
                    if handshake_message_len(rest).is_some_and(|n| n > MAX_HANDSHAKE_BYTES) {
                        self.fail(d, false);
                        return None;
                    }
                    return Some(rest.len());
                }
            }
        }
    }

    fn on_message(&mut self, dir: Direction, record_version: u16, t: u8, body: &[u8], ts_ns: u64) {
        let d = dir.index();
        match (dir, t) {
            (Direction::ToServer, HS_CLIENT_HELLO) => match parse_tls_client_hello(body) {
                // After a HelloRetryRequest the second ClientHello is not the fingerprint.
                Ok(ch) if self.summary.client_hello.is_none() => {
                    self.summary.client_hello = Some(client_hello_info(record_version, &ch));
                }
                Ok(_) => {}
                Err(_) => self.fail(d, true),
            },
            (Direction::ToClient, HS_SERVER_HELLO) => match parse_tls_server_hello(body) {
                Ok(sh) if sh.is_hello_retry_request() => self.summary.hello_retry_request = true,
                Ok(sh) => {
                    let info = server_hello_info(record_version, &sh, self.summary.client_hello.as_ref());
                    // TLS 1.3: everything after the ServerHello is encrypted (RFC 8446 §2).
                    if info.selected_version == 0x0304 {
                        self.stopped = true;
                    }
                    self.summary.server_hello = Some(info);
                }
                Err(_) => self.fail(d, true),
            },
            (_, HS_CERTIFICATE) => {
                if self
                    .summary
                    .server_hello
                    .as_ref()
                    .is_some_and(|s| s.selected_version == 0x0304)
                {
                    return;
                }
                let Some(list) = parse_tls12_certificate_list(body) else {
                    self.fail(d, true);
                    return;
                };
                for (i, der) in list.iter().enumerate() {
                    if self.summary.certificates.len() >= MAX_CERTIFICATES {
                        self.summary.certificates_dropped += 1;
                        continue;
                    }
                    self.summary.certificates.push(cert_info(der, sender(dir), i, ts_ns));
                }
            }
            (Direction::ToClient, HS_NEW_SESSION_TICKET) => self.summary.session_ticket_issued = true,
            _ => {}
        }
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Owned ClientHello facts plus fingerprints.
pub fn client_hello_info(record_version: u16, ch: &TlsClientHello<'_>) -> ClientHelloInfo {
    let mut c = ClientHelloInfo {
        record_version,
        client_version: ch.version,
        ciphers: ch.ciphers.clone(),
        compression: ch.compression.clone(),
        session_id: ch.session_id.to_vec(),
        ..ClientHelloInfo::default()
    };
    let mut first_alpn = None;
    for &(t, data) in &ch.extensions {
        c.extensions.push(t);
        match t {
            EXT_SERVER_NAME => c.sni = parse_ext_sni(data).map(lossy),
            EXT_SUPPORTED_GROUPS => c.supported_groups = parse_ext_u16_list(data).unwrap_or_default(),
            EXT_EC_POINT_FORMATS => c.ec_point_formats = parse_ext_ec_point_formats(data).unwrap_or_default(),
            EXT_SIGNATURE_ALGORITHMS => c.signature_algorithms = parse_ext_u16_list(data).unwrap_or_default(),
            EXT_ALPN => {
                let list = parse_ext_alpn(data).unwrap_or_default();
                first_alpn = list.first().copied();
                c.alpn = list.into_iter().map(lossy).collect();
            }
            EXT_SESSION_TICKET => c.session_ticket = !data.is_empty(),
            EXT_PRE_SHARED_KEY => c.psk = true,
            EXT_SUPPORTED_VERSIONS => {
                c.supported_versions = parse_ext_supported_versions_client(data).unwrap_or_default()
            }
            EXT_KEY_SHARE => c.key_share_groups = parse_ext_key_share_client(data).unwrap_or_default(),
            _ => {}
        }
    }
    c.ja3 = ja3_string(
        c.client_version,
        &c.ciphers,
        &c.extensions,
        &c.supported_groups,
        &c.ec_point_formats,
    );
    c.ja3_hash = md5_hex(&c.ja3);
    c.ja4 = ja4(&Ja4Input {
        legacy_version: c.client_version,
        supported_versions: &c.supported_versions,
        ciphers: &c.ciphers,
        extensions: &c.extensions,
        has_sni: c.sni.is_some(),
        first_alpn,
        signature_algorithms: &c.signature_algorithms,
    });
    c
}

/// Owned ServerHello facts plus JA3S; `client` tells whether a session id was echoed.
pub fn server_hello_info(
    record_version: u16,
    sh: &TlsServerHello<'_>,
    client: Option<&ClientHelloInfo>,
) -> ServerHelloInfo {
    let mut s = ServerHelloInfo {
        record_version,
        legacy_version: sh.version,
        selected_version: sh.version,
        cipher: sh.cipher,
        compression: sh.compression,
        ..ServerHelloInfo::default()
    };
    for &(t, data) in &sh.extensions {
        s.extensions.push(t);
        match t {
            // RFC 8446 §4.2.1: the ServerHello carries the single selected version.
            EXT_SUPPORTED_VERSIONS => {
                if let [a, b] = data {
                    s.selected_version = u16::from_be_bytes([*a, *b]);
                }
            }
            EXT_ALPN => s.alpn = parse_ext_alpn(data).and_then(|l| l.first().map(|p| lossy(p))),
            EXT_KEY_SHARE => s.key_share_group = parse_ext_key_share_server(data),
            EXT_PRE_SHARED_KEY => s.psk = true,
            EXT_SESSION_TICKET => s.session_ticket = true,
            _ => {}
        }
    }
    // In TLS 1.3 the server always echoes legacy_session_id (RFC 8446 §4.1.3): not resumption.
    s.session_id_echoed = s.selected_version != 0x0304
        && !sh.session_id.is_empty()
        && client.is_some_and(|c| c.session_id == sh.session_id);
    s.ja3s = ja3s_string(s.legacy_version, s.cipher, &s.extensions);
    s.ja3s_hash = md5_hex(&s.ja3s);
    s
}

impl StreamParser for TlsState {
    fn feed(&mut self, dir: Direction, data: &[u8], ts_ns: u64) -> Verdict {
        if !self.stopped && self.sides[dir.index()].phase != Phase::Done {
            self.feed_records(dir, data, ts_ns);
            if self.stopped {
                // TLS 1.3 after the ServerHello: nothing more is read, the buffers go
                for s in &mut self.sides {
                    s.rec = Vec::new();
                    s.hs = Vec::new();
                }
            }
        }
        self.verdict()
    }

    fn gap(&mut self, dir: Direction, _len: u64) {
        let side = &mut self.sides[dir.index()];
        if side.phase == Phase::Clear {
            self.summary.gap[dir.index()] = true;
        }
        side.finish();
    }
}

#[cfg(test)]
mod buffer_tests {
    use super::*;
    use crate::proto::StreamParser;

    /// A TLS 1.2 server direction: a 4,004-byte handshake record split across two segments
    /// (a certificate chain's usual shape), ChangeCipherSpec, then application data. Once
    /// encrypted, the direction keeps no buffer sized for handshake records.
    #[test]
    fn encrypted_directions_give_their_handshake_buffers_back() {
        let mut body = vec![4u8, 0x00, 0x0f, 0xa0]; // NewSessionTicket, 4,000 bytes (RFC 5077 §3.3)
        body.resize(4 + 4000, 0);
        let mut rec = vec![CT_HANDSHAKE, 3, 3];
        rec.extend_from_slice(&(body.len() as u16).to_be_bytes());
        rec.extend_from_slice(&body);
        let mut t = TlsState::new();
        let (a, b) = rec.split_at(1500);
        t.feed(Direction::ToClient, a, 1);
        t.feed(Direction::ToClient, b, 2);
        assert!(
            t.sides[1].rec.capacity() >= rec.len(),
            "the split record was assembled in rec"
        );
        t.feed(Direction::ToClient, &[CT_CHANGE_CIPHER_SPEC, 3, 3, 0, 1, 1], 3);
        let mut app = vec![CT_APPLICATION_DATA, 3, 3, 0, 32];
        app.resize(5 + 32, 0xaa);
        // the next header split across segments: rec holds the partial header
        t.feed(Direction::ToClient, &app[..3], 4);
        t.feed(Direction::ToClient, &app[3..], 5);
        let side = &t.sides[1];
        assert_eq!(side.phase, Phase::Encrypted);
        assert!(side.rec.capacity() <= ENCRYPTED_REC_CAPACITY, "{}", side.rec.capacity());
        assert_eq!(side.hs.capacity(), 0);
        assert_eq!(t.summary().app_data_records[1], 1);
        assert!(t.summary().change_cipher_spec[1]);
    }
}
