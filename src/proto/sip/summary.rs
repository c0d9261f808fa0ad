//! The owned, bounded record of a flow's SIP: counts by method and status code, per-call
//! records keyed by Call-ID, and the SDP media the flow layer turns into RTP expectations.
//! Allocates only when a new entry (method, code, call, media, value) is kept.

use super::parser::{SdpMediaDesc, SipMessage, StartLine, proto_is_srtp, trim};

/// Distinct request methods counted; later ones add to `methods_dropped`.
pub const MAX_METHODS: usize = 32;
/// Distinct status codes counted; later ones add to `status_codes_dropped`.
pub const MAX_STATUS_CODES: usize = 64;
/// Distinct Via transports counted.
pub const MAX_TRANSPORTS: usize = 8;
/// Calls (Call-IDs) kept per flow; messages of later calls add to `calls_dropped`.
pub const MAX_CALLS: usize = 64;
/// SDP media descriptions kept per flow.
pub const MAX_SDP_MEDIA: usize = 128;
/// Distinct values kept per call list (user agents, auth schemes, transports, user names).
pub const MAX_PER_CALL_VALUES: usize = 8;
/// Bytes kept of any text value (URI, Call-ID, user agent); longer ones are cut.
pub const MAX_VALUE_BYTES: usize = 256;

/// A bounded copy of header text (invalid UTF-8 replaced).
pub fn text(b: &[u8]) -> String {
    let b = &b[..b.len().min(MAX_VALUE_BYTES)];
    String::from_utf8_lossy(b).into_owned()
}

/// `text(a) == b` without allocating (for values within the cap).
fn same(a: &str, b: &[u8]) -> bool {
    let b = &b[..b.len().min(MAX_VALUE_BYTES)];
    a.as_bytes() == b || (std::str::from_utf8(b).is_err() && a == String::from_utf8_lossy(b))
}

fn bump_text(v: &mut Vec<(String, u64)>, key: &[u8], cap: usize, dropped: &mut u64) {
    if let Some(e) = v.iter_mut().find(|(k, _)| same(k, key)) {
        e.1 += 1;
    } else if v.len() < cap {
        v.push((text(key), 1));
    } else {
        *dropped += 1;
    }
}

fn bump_code(v: &mut Vec<(u16, u64)>, code: u16, cap: usize, dropped: &mut u64) {
    if let Some(e) = v.iter_mut().find(|(k, _)| *k == code) {
        e.1 += 1;
    } else if v.len() < cap {
        v.push((code, 1));
    } else {
        *dropped += 1;
    }
}

fn add_value(v: &mut Vec<String>, b: &[u8]) {
    if v.len() < MAX_PER_CALL_VALUES && !v.iter().any(|x| same(x, b)) {
        v.push(text(b));
    }
}

/// One SDP media description, owned: what the flow layer needs for an RTP/RTCP expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpMedia {
    pub call_id: String,
    /// The SIP message that carried it: the request method, or the status code as text.
    pub sip: String,
    /// audio, video, image, application, ...
    pub media: String,
    /// Connection address (media-level c= if present, else session-level), as written.
    pub address: Option<String>,
    /// IP4 / IP6 (empty when there was no c= line).
    pub addr_type: String,
    /// 0 means the stream was rejected or disabled (RFC 3264 §6).
    pub port: u16,
    pub port_count: u16,
    /// RTP/AVP, RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVP, ...
    pub proto: String,
    pub formats: String,
    /// The proto is a secure RTP profile (SAVP): the media is SRTP.
    pub srtp: bool,
    /// `a=crypto` suites (SDES-SRTP, RFC 4568); never the keys.
    pub crypto_suites: Vec<String>,
    /// `a=fingerprint` present (DTLS-SRTP).
    pub fingerprint: bool,
    /// `a=rtcp` port, when given (else RTCP is on port + 1).
    pub rtcp_port: Option<u16>,
}

impl SdpMedia {
    /// The connection address as an IP address, when it is one.
    pub fn ip(&self) -> Option<std::net::IpAddr> {
        self.address.as_deref()?.parse().ok()
    }
}

/// Everything seen of one Call-ID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SipCall {
    pub call_id: String,
    /// The URI of the first From / To seen (display name dropped).
    pub from: Option<String>,
    pub from_tag: Option<String>,
    pub to: Option<String>,
    pub to_tag: Option<String>,
    /// Requests by method, in order of first appearance.
    pub methods: Vec<(String, u64)>,
    /// Responses by status code, in order of first appearance.
    pub status_codes: Vec<(u16, u64)>,
    /// Via transports (UDP, TCP, TLS, ...), as written.
    pub via_transports: Vec<String>,
    /// sent-by (host[:port]) of the topmost Via of each message: where the sender says it is.
    pub via_sent_by: Vec<String>,
    /// Contact URIs (the first Contact of each message).
    pub contacts: Vec<String>,
    /// Authorization / Authenticate schemes (Digest, NTLM, Kerberos, TLS-DSK, ...).
    pub auth_schemes: Vec<String>,
    /// Digest user names from credentials (never responses or passwords).
    pub digest_usernames: Vec<String>,
    /// User-Agent and Server values.
    pub user_agents: Vec<String>,
}

/// The owned SIP record of one flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SipSummary {
    /// Messages parsed (requests + responses).
    pub messages: u64,
    pub requests: u64,
    pub responses: u64,
    /// Requests by method (unknown methods kept as written).
    pub methods: Vec<(String, u64)>,
    pub methods_dropped: u64,
    /// Responses by status code.
    pub status_codes: Vec<(u16, u64)>,
    pub status_codes_dropped: u64,
    /// Messages by their first (topmost) Via transport.
    pub via_transports: Vec<(String, u64)>,
    pub transports_dropped: u64,
    pub calls: Vec<SipCall>,
    /// Messages whose Call-ID did not fit in `calls`.
    pub calls_dropped: u64,
    pub sdp_media: Vec<SdpMedia>,
    pub sdp_media_dropped: u64,
    /// Any SIP message was seen in clear text (the parser only ever sees clear text; the flow
    /// layer knows whether the connection was TLS).
    pub cleartext: bool,
    /// Seen over UDP datagrams (else a TCP stream).
    pub udp: bool,
    /// CRLF keep-alives (RFC 5626 §3.5.1) skipped.
    pub keepalives: u64,
    /// Bodies skipped by length (not SDP, or larger than the SDP buffer).
    pub bodies_skipped: u64,
    /// Start lines not SIP, header lines without a colon, bad values, broken SDP lines.
    pub parse_errors: u64,
    /// Stream bytes missing (capture gaps), as reported by the flow layer.
    pub gaps: u64,
}

impl SipSummary {
    fn call_index(&mut self, id: &[u8]) -> Option<usize> {
        if let Some(i) = self.calls.iter().position(|c| same(&c.call_id, id)) {
            return Some(i);
        }
        if self.calls.len() >= MAX_CALLS {
            self.calls_dropped += 1;
            return None;
        }
        self.calls.push(SipCall {
            call_id: text(id),
            ..SipCall::default()
        });
        Some(self.calls.len() - 1)
    }

    /// Record one message: its head and, when it is SDP, its body.
    pub(crate) fn record(&mut self, m: &SipMessage<'_>, sdp: Option<&[u8]>) {
        self.messages += 1;
        self.cleartext = true;
        let h = &m.head;
        self.parse_errors += u64::from(h.bad_lines) + u64::from(h.bad_content_length);
        match m.start {
            StartLine::Request { method, .. } => {
                self.requests += 1;
                bump_text(&mut self.methods, method, MAX_METHODS, &mut self.methods_dropped);
            }
            StartLine::Status { code, .. } => {
                self.responses += 1;
                bump_code(
                    &mut self.status_codes,
                    code,
                    MAX_STATUS_CODES,
                    &mut self.status_codes_dropped,
                );
            }
        }
        if let Some(v) = h.vias[0] {
            bump_text(
                &mut self.via_transports,
                v.transport,
                MAX_TRANSPORTS,
                &mut self.transports_dropped,
            );
        }
        let Some(ci) = h.call_id.map(trim).and_then(|id| self.call_index(id)) else {
            return;
        };
        let call = &mut self.calls[ci];
        if let Some(f) = h.from {
            call.from.get_or_insert_with(|| text(f.uri));
            if let Some(t) = f.tag.filter(|t| !t.is_empty()) {
                call.from_tag.get_or_insert_with(|| text(t));
            }
        }
        if let Some(t) = h.to {
            call.to.get_or_insert_with(|| text(t.uri));
            if let Some(g) = t.tag.filter(|t| !t.is_empty()) {
                call.to_tag.get_or_insert_with(|| text(g));
            }
        }
        let mut none = 0;
        match m.start {
            StartLine::Request { method, .. } => bump_text(&mut call.methods, method, MAX_METHODS, &mut none),
            StartLine::Status { code, .. } => bump_code(&mut call.status_codes, code, MAX_STATUS_CODES, &mut none),
        }
        if let Some(v) = h.vias[0] {
            add_value(&mut call.via_transports, v.transport);
            add_value(&mut call.via_sent_by, v.sent_by);
        }
        if let Some(c) = h.contact {
            add_value(&mut call.contacts, c.uri);
        }
        for a in h.auths.iter().flatten() {
            add_value(&mut call.auth_schemes, a.scheme);
            if let Some(u) = a.username {
                add_value(&mut call.digest_usernames, u);
            }
        }
        for ua in [h.user_agent, h.server].into_iter().flatten() {
            add_value(&mut call.user_agents, ua);
        }
        let Some(body) = sdp else { return };
        let sip_label = match m.start {
            StartLine::Request { method, .. } => Label::Method(method),
            StartLine::Status { code, .. } => Label::Code(code),
        };
        let mut media = std::mem::take(&mut self.sdp_media);
        let mut dropped = 0;
        let call_id = &self.calls[ci].call_id;
        let bad = super::parser::parse_sdp(body, |d| {
            if media.len() >= MAX_SDP_MEDIA {
                dropped += 1;
                return;
            }
            media.push(own_media(d, call_id, sip_label));
        });
        self.sdp_media = media;
        self.sdp_media_dropped += dropped;
        self.parse_errors += u64::from(bad);
    }

    /// Requests counted for `method` (case-sensitive, as methods are).
    pub fn method_count(&self, method: &str) -> u64 {
        self.methods.iter().find(|(k, _)| k == method).map_or(0, |e| e.1)
    }

    /// Responses counted with `code`.
    pub fn status_count(&self, code: u16) -> u64 {
        self.status_codes.iter().find(|(k, _)| *k == code).map_or(0, |e| e.1)
    }
}

#[derive(Clone, Copy)]
enum Label<'a> {
    Method(&'a [u8]),
    Code(u16),
}

fn own_media(d: &SdpMediaDesc<'_>, call_id: &str, sip: Label<'_>) -> SdpMedia {
    SdpMedia {
        call_id: call_id.to_string(),
        sip: match sip {
            Label::Method(m) => text(m),
            Label::Code(c) => c.to_string(),
        },
        media: text(d.media),
        address: d.address.map(text),
        addr_type: text(d.addr_type),
        port: d.port,
        port_count: d.port_count,
        proto: text(d.proto),
        formats: text(d.formats),
        srtp: proto_is_srtp(d.proto),
        crypto_suites: d.crypto.iter().flatten().map(|s| text(s)).collect(),
        fingerprint: d.fingerprint,
        rtcp_port: d.rtcp_port,
    }
}
