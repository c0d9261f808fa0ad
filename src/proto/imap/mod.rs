//! IMAP4rev1 (RFC 3501) / IMAP4rev2 (RFC 9051) in clear text, as Exchange's IMAP4 service
//! speaks it on port 143: the greeting (Exchange named), capabilities (from the greeting's
//! `[CAPABILITY ...]` code or a CAPABILITY response: STARTTLS, LOGINDISABLED, `AUTH=`), tagged
//! commands and their OK/NO/BAD, LOGIN (the user name, never the password, literals included),
//! AUTHENTICATE with its SASL exchange (PLAIN, LOGIN, NTLM via [`crate::proto::ntlmssp`],
//! GSSAPI, XOAUTH2), literals in either direction skipped by count, and the STARTTLS hand-over
//! to TLS (RFC 9051 §6.2.1).
//!
//! `parser` holds the pure line grammar, `state` the per-flow machine ([`ImapState`]),
//! `summary` the owned record ([`ImapSummary`]).

pub mod parser;
pub mod state;
pub mod summary;

#[cfg(test)]
mod tests;

pub use state::ImapState;
pub use summary::{Auth, ImapSummary, StartTls};

use crate::proto::{Direction, Probe};

/// Bytes of a first line the probe looks at.
pub const PROBE_LINE_BYTES: usize = 512;

/// Is this the start of an IMAP direction? The server greets with `* OK`, `* PREAUTH` or
/// `* BYE` (RFC 9051 §7.1); the client starts with `tag SP command` where the command is one
/// a session opens with (CAPABILITY, STARTTLS, LOGIN, AUTHENTICATE, ID, NOOP).
pub fn probe_imap(dir: Direction, data: &[u8]) -> Probe {
    let view = &data[..data.len().min(PROBE_LINE_BYTES)];
    let line_end = view.iter().position(|&b| b == b'\n');
    let line = crate::proto::lines::trim_crlf(&view[..line_end.map_or(view.len(), |p| p + 1)]);
    match dir {
        Direction::ToClient => {
            const OPENERS: [&[u8]; 3] = [b"* OK", b"* PREAUTH", b"* BYE"];
            for o in OPENERS {
                let n = line.len().min(o.len());
                if line[..n].eq_ignore_ascii_case(&o[..n]) {
                    if n < o.len() {
                        return if line_end.is_none() { Probe::NeedMore } else { Probe::No };
                    }
                    return match line.get(o.len()) {
                        Some(b' ') => Probe::Yes,
                        None if line_end.is_none() => Probe::NeedMore,
                        _ => Probe::No,
                    };
                }
            }
            Probe::No
        }
        Direction::ToServer => {
            const VERBS: [&[u8]; 6] = [b"CAPABILITY", b"STARTTLS", b"LOGIN", b"AUTHENTICATE", b"ID", b"NOOP"];
            if line_end.is_none() {
                // a tag needs at least a space and a verb: wait unless the tag is already bad
                let tag_end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
                let bad = line[..tag_end]
                    .iter()
                    .any(|&b| b <= b' ' || b >= 0x7f || b == b'+' || b == b'*');
                return if bad || view.len() >= PROBE_LINE_BYTES {
                    Probe::No
                } else {
                    Probe::NeedMore
                };
            }
            match parser::parse_command(line) {
                Some(c) if VERBS.iter().any(|v| c.verb.eq_ignore_ascii_case(v)) => Probe::Yes,
                _ => Probe::No,
            }
        }
    }
}
