//! HTTP/1.x in clear text (RFC 9112 message syntax, RFC 9110 semantics), as Exchange's client
//! access front end serves it on port 80 (and as anything else speaks it): request and status
//! lines, the headers that say who and what (Host, User-Agent, Content-Type, Content-Length,
//! Transfer-Encoding, Server, WWW-Authenticate, Authorization), pipelined messages, bodies
//! skipped by length or chunk framing without buffering, credentials (Basic user name — never
//! the password; NTLM/Negotiate NTLMSSP type and `DOMAIN\user` via [`crate::proto::ntlmssp`];
//! Bearer scheme only), and the Exchange endpoint a request names (OWA, EWS, ActiveSync, MAPI
//! over HTTP, RPC over HTTP with its back-end port, Autodiscover, OAB, ECP, PowerShell).
//!
//! `parser` holds the pure grammar, `state` the per-flow machine ([`HttpState`]), `summary`
//! the owned record ([`HttpSummary`]).

pub mod parser;
pub mod state;
pub mod summary;

#[cfg(test)]
mod tests;

pub use parser::ExchangeService;
pub use state::HttpState;
pub use summary::{Authorization, HttpSummary, Request, Response};

use crate::proto::{Direction, Probe};

/// Bytes of a first line the probe looks at (a request line with a long OWA target fits).
pub const PROBE_LINE_BYTES: usize = 2048;

/// Is this the start of an HTTP/1.x direction? The client sends `method SP target SP
/// HTTP/d.d` (RFC 9112 §3), the server `HTTP/1.x SP 3DIGIT` (§4). Allocation-free.
pub fn probe_http(dir: Direction, data: &[u8]) -> Probe {
    match dir {
        Direction::ToClient => probe_status(data),
        Direction::ToServer => probe_request(data),
    }
}

fn probe_status(data: &[u8]) -> Probe {
    const HEAD: &[u8] = b"HTTP/1.";
    let n = data.len().min(HEAD.len());
    if data[..n] != HEAD[..n] {
        return Probe::No;
    }
    if data.len() <= HEAD.len() {
        return Probe::NeedMore;
    }
    if data[HEAD.len()].is_ascii_digit() {
        Probe::Yes
    } else {
        Probe::No
    }
}

fn probe_request(data: &[u8]) -> Probe {
    let view = &data[..data.len().min(PROBE_LINE_BYTES)];
    let line_end = view.iter().position(|&b| b == b'\n');
    let line = &view[..line_end.unwrap_or(view.len())];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // the method token must be plausible before waiting for more
    let method_end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    if method_end > parser::MAX_METHOD_BYTES || !line[..method_end].iter().all(|&b| parser::is_tchar(b)) {
        return Probe::No;
    }
    if line_end.is_none() {
        return if view.len() < PROBE_LINE_BYTES {
            Probe::NeedMore
        } else {
            Probe::No
        };
    }
    if parser::parse_request_line(line).is_some_and(|r| r.version.starts_with(b"HTTP/1.")) {
        Probe::Yes
    } else {
        Probe::No
    }
}
