//! POP3 (RFC 1939) with CAPA (RFC 2449), STLS (RFC 2595) and AUTH (RFC 5034), as Exchange's
//! POP3 service speaks it on port 110: the greeting (Exchange named, APOP timestamp), the CAPA
//! list (STLS, SASL mechanisms, USER), USER/PASS (the user name, never the password), APOP,
//! AUTH with its SASL continuations (PLAIN, LOGIN, NTLM via [`crate::proto::ntlmssp`]...),
//! multi-line responses (RETR, TOP, LIST, UIDL) skipped to their "." line without buffering,
//! and the STLS hand-over to TLS.
//!
//! `parser` holds the pure line grammar, `state` the per-flow machine ([`Pop3State`]),
//! `summary` the owned record ([`Pop3Summary`]).

pub mod parser;
pub mod state;
pub mod summary;

#[cfg(test)]
mod tests;

pub use state::Pop3State;
pub use summary::{Auth, Pop3Summary, Stls};

use crate::proto::{Direction, Probe};

/// Client keywords that open (or, in a capture that starts late, continue) a POP3 session.
const CLIENT_VERBS: [&[u8]; 7] = [b"CAPA", b"USER ", b"APOP ", b"AUTH", b"STLS", b"STAT", b"UIDL"];

/// Is this the start of a POP3 direction? The server greets with `+OK` (RFC 1939 §4); the
/// client starts with CAPA, USER, APOP, AUTH, STLS (or, mid-session, STAT/UIDL) followed by a
/// space or CRLF. Case-insensitive, allocation-free.
pub fn probe_pop3(dir: Direction, data: &[u8]) -> Probe {
    match dir {
        Direction::ToClient => {
            let n = data.len().min(4);
            if !data[..n.min(3)].eq_ignore_ascii_case(&b"+OK"[..n.min(3)]) {
                return Probe::No;
            }
            match data.get(3) {
                None => Probe::NeedMore,
                Some(b' ' | b'\r' | b'\n') => Probe::Yes,
                _ => Probe::No,
            }
        }
        Direction::ToServer => {
            let mut more = false;
            for v in CLIENT_VERBS {
                let n = data.len().min(v.len());
                if data[..n].eq_ignore_ascii_case(&v[..n]) {
                    if n < v.len() {
                        more = true;
                        continue;
                    }
                    if v.ends_with(b" ") {
                        return Probe::Yes;
                    }
                    return match data.get(v.len()) {
                        None => Probe::NeedMore,
                        Some(b' ' | b'\r' | b'\n') => Probe::Yes,
                        _ => Probe::No,
                    };
                }
            }
            if more { Probe::NeedMore } else { Probe::No }
        }
    }
}
