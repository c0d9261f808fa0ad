//! SMTP (RFC 5321) with ESMTP extensions, as Exchange speaks it: banner, HELO/EHLO and the
//! extensions offered (STARTTLS, X-ANONYMOUSTLS, AUTH, X-EXPS, XEXCH50, CHUNKING...), commands
//! and reply codes with pipelining (RFC 2920), envelopes and message counts, AUTH and X-EXPS
//! exchanges (mechanism, decoded user name — never the password — success, clear-text
//! credentials), and the STARTTLS / X-ANONYMOUSTLS hand-over to TLS (RFC 3207). Bodies (DATA,
//! BDAT per RFC 3030, XEXCH50 blobs) are skipped by their end marker or length, never
//! buffered.
//!
//! `parser` holds the pure line grammar, `state` the per-flow machine ([`SmtpState`]),
//! `summary` the owned record ([`SmtpSummary`]).

pub mod parser;
pub mod state;
pub mod summary;

#[cfg(test)]
mod tests;

pub use state::SmtpState;
pub use summary::{Auth, Helo, SmtpSummary, StartTls};

use crate::proto::{Direction, Probe};

/// Bytes of a first line the probe looks at (a banner line rarely exceeds this).
pub const PROBE_LINE_BYTES: usize = 256;

/// Client verbs that open (or, in a capture that starts late, continue) an SMTP session.
const CLIENT_VERBS: [&[u8]; 5] = [b"EHLO ", b"HELO ", b"LHLO ", b"MAIL FROM:", b"RCPT TO:"];

/// Is this the start of an SMTP direction? The server greets with `220` (or `554`, RFC 5321
/// §4.3.1) and a line naming SMTP/ESMTP; the client starts with HELO/EHLO (or, mid-session,
/// MAIL/RCPT). Case-insensitive, allocation-free.
pub fn probe_smtp(dir: Direction, data: &[u8]) -> Probe {
    match dir {
        Direction::ToClient => probe_banner(data),
        Direction::ToServer => probe_client(data),
    }
}

fn probe_banner(data: &[u8]) -> Probe {
    // "220 " / "220-" (greeting) or "554 " / "554-" (RFC 5321 §3.1 refusal), or a prefix of one
    let head = &data[..data.len().min(4)];
    let code_ok = [b"220", b"554"]
        .iter()
        .any(|c| (head.len() <= 3 && c.starts_with(head)) || head.starts_with(*c));
    if !code_ok || head.get(3).is_some_and(|&b| b != b' ' && b != b'-') {
        return Probe::No;
    }
    let view = &data[..data.len().min(PROBE_LINE_BYTES)];
    let line_end = view.iter().position(|&b| b == b'\n');
    let line = &view[..line_end.unwrap_or(view.len())];
    if line.windows(4).any(|w| w.eq_ignore_ascii_case(b"SMTP")) {
        Probe::Yes
    } else if line_end.is_none() && view.len() < PROBE_LINE_BYTES {
        Probe::NeedMore
    } else {
        Probe::No
    }
}

fn probe_client(data: &[u8]) -> Probe {
    let mut more = false;
    for v in CLIENT_VERBS {
        let n = data.len().min(v.len());
        if data[..n].eq_ignore_ascii_case(&v[..n]) {
            if n == v.len() {
                return Probe::Yes;
            }
            more = true;
        }
    }
    if more { Probe::NeedMore } else { Probe::No }
}
