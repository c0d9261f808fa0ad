//! What one HTTP/1.x connection showed, owned and bounded: the record the output layer writes.

/// Targets, header values and user names are cut to this many bytes.
pub const MAX_TEXT_BYTES: usize = 256;
/// Requests kept (all are counted in `request_count`).
pub const MAX_REQUESTS: usize = 32;
/// Responses kept (all are counted in `response_count`).
pub const MAX_RESPONSES: usize = 32;
/// Distinct services, users, schemes and RPC back ends kept.
pub const MAX_DISTINCT: usize = 16;

/// The credentials of an `Authorization` header (RFC 9110 §11.6.2), never the secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authorization {
    /// The scheme as sent: `Basic`, `NTLM`, `Negotiate`, `Bearer`, `Digest`...
    pub scheme: String,
    /// Basic: the user id (RFC 7617); NTLM/Negotiate: AUTHENTICATE `DOMAIN\user`; Digest: the
    /// `username` parameter. Never a password, hash or token.
    pub user: Option<String>,
    /// NTLMSSP message type carried (1 NEGOTIATE, 3 AUTHENTICATE).
    pub ntlmssp_type: Option<u8>,
}

/// One request head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub version: String,
    pub host: Option<String>,
    pub user_agent: Option<String>,
    pub content_type: Option<String>,
    pub content_length: Option<u64>,
    pub chunked: bool,
    pub authorization: Option<Authorization>,
    /// The Exchange service the path names (`owa`, `ews`, `rpc_over_http`...).
    pub service: Option<&'static str>,
    /// RPC over HTTP: the back-end server and port of `?server:port`.
    pub rpc_backend: Option<(String, u16)>,
    /// MAPI over HTTP `X-RequestType` (MS-OXCMAPIHTTP §2.2.3.1.6).
    pub mapi_request_type: Option<String>,
    /// The status of the (final) response that answered it.
    pub status: Option<u16>,
}

/// One response head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub server: Option<String>,
    pub content_type: Option<String>,
    pub content_length: Option<u64>,
    pub chunked: bool,
    /// Challenge schemes of the `WWW-Authenticate` fields (RFC 9110 §11.6.1).
    pub www_authenticate: Vec<String>,
    /// NTLMSSP message type in a challenge (2 CHALLENGE).
    pub ntlmssp_type: Option<u8>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpSummary {
    pub requests: Vec<Request>,
    pub responses: Vec<Response>,
    pub request_count: u64,
    pub response_count: u64,
    /// Exchange services named by any request, first-seen order.
    pub services: Vec<&'static str>,
    /// RPC over HTTP back ends named by any request.
    pub rpc_backends: Vec<(String, u16)>,
    /// `Authorization` schemes used, as sent.
    pub auth_schemes: Vec<String>,
    /// User names from `Authorization` headers.
    pub users: Vec<String>,
    /// `Authorization: Basic` crossed in clear text (a reusable password).
    pub basic_auth_in_cleartext: bool,
    /// Request and response body bytes skipped (by length, chunks, or up to the close).
    pub request_body_bytes: u64,
    pub response_body_bytes: u64,
    /// The connection switched protocols (101) or became a CONNECT tunnel: parsing stopped.
    pub switched_protocols: bool,
    /// Start lines that did not parse, header lines without a colon, bad chunk framing.
    pub unknown_lines: u64,
    /// Lines longer than the line limit (dropped).
    pub overlong_lines: u64,
    /// Stretches of either direction that were not captured.
    pub gaps: u64,
}

impl HttpSummary {
    pub(super) fn add_service(&mut self, s: &'static str) {
        if !self.services.contains(&s) && self.services.len() < MAX_DISTINCT {
            self.services.push(s);
        }
    }

    pub(super) fn add_backend(&mut self, host: &str, port: u16) {
        if !self.rpc_backends.iter().any(|(h, p)| h == host && *p == port) && self.rpc_backends.len() < MAX_DISTINCT {
            self.rpc_backends.push((host.to_string(), port));
        }
    }
}
