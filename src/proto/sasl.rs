//! What a clear-text SASL exchange gives away, shared by IMAP AUTHENTICATE (RFC 9051 §6.2.2)
//! POP3 AUTH (RFC 5034) and SMTP AUTH (RFC 4954): the user name (never the password) and
//! whether a reusable credential crossed.

use super::ntlmssp;
use super::smtp::parser::{base64_decode, plain_authcid};

/// The longest decoded SASL response inspected (the base64 of RFC 4954 §4's 12,288-byte
/// line).
pub const MAX_SASL_DECODED: usize = 12_288 / 4 * 3;

/// What one client SASL response showed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// The user name, as text (lossy UTF-8), cut to the caller's limit.
    pub user: Option<String>,
    /// A password or bearer token crossed.
    pub cleartext_credentials: bool,
    /// NTLMSSP message type (1, 2, 3) when the response carried one.
    pub ntlmssp_type: Option<u8>,
}

/// Inspects the `step`-th (0-based) base64 client response `line` of mechanism `mech`
/// (upper-case). `max` bounds the user name's bytes.
pub fn client_response(mech: &str, step: u32, line: &[u8], max: usize) -> Facts {
    let mut f = Facts::default();
    let mut buf = [0u8; MAX_SASL_DECODED];
    let n = if line == b"=" || line.is_empty() {
        0
    } else {
        match base64_decode(line, &mut buf) {
            Some(n) => n,
            None => return f,
        }
    };
    let msg = &buf[..n];
    let text = |b: &[u8]| super::lines::text(b, max);
    match mech {
        // RFC 4616: authzid NUL authcid NUL passwd
        "PLAIN" => {
            f.user = plain_authcid(msg).map(text);
            f.cleartext_credentials = true;
        }
        // draft-murchison-sasl-login: the user name, then the password
        "LOGIN" => {
            if step == 0 {
                f.user = Some(text(msg));
            }
            f.cleartext_credentials = true;
        }
        // RFC 2195 §2: "user SP digest"
        "CRAM-MD5" => {
            f.user = msg.split(|&b| b == b' ').next().filter(|u| !u.is_empty()).map(text);
        }
        // Google XOAUTH2 / RFC 7628 OAUTHBEARER: "user=...^Aauth=Bearer <token>"
        "XOAUTH2" | "OAUTHBEARER" => {
            for kv in msg.split(|&b| b == 1 || b == b',') {
                if let Some(u) = kv.strip_prefix(b"user=").or_else(|| kv.strip_prefix(b"a=")) {
                    f.user.get_or_insert_with(|| text(u));
                }
            }
            f.cleartext_credentials = true;
        }
        _ => {
            if let Some(m) = ntlmssp::find(msg) {
                f.ntlmssp_type = Some(ntlm_type(m.kind));
                if m.kind == ntlmssp::MessageType::Authenticate {
                    f.user = Some(ntlm_user(&m, max));
                }
            }
        }
    }
    f
}

/// `DOMAIN\user` of an NTLMSSP AUTHENTICATE message (MS-NLMP §2.2.1.3).
pub fn ntlm_user(m: &ntlmssp::Message<'_>, max: usize) -> String {
    let mut u = String::new();
    m.decode_name(m.domain, &mut u, max);
    if !u.is_empty() {
        u.push('\\');
    }
    m.decode_name(m.user, &mut u, max);
    u
}

/// The message type number (MS-NLMP §2.2.1: 1 NEGOTIATE, 2 CHALLENGE, 3 AUTHENTICATE).
pub fn ntlm_type(k: ntlmssp::MessageType) -> u8 {
    match k {
        ntlmssp::MessageType::Negotiate => 1,
        ntlmssp::MessageType::Challenge => 2,
        ntlmssp::MessageType::Authenticate => 3,
        ntlmssp::MessageType::Other(n) => n.min(255) as u8,
    }
}

/// How many client responses a mechanism takes, the initial response included (then the
/// client sends commands again); open-ended ones (NTLM, GSSAPI, and XOAUTH2/OAUTHBEARER, whose
/// failure asks for one more, empty, response) end with the server's final reply.
pub fn responses_expected(mech: &str) -> u32 {
    match mech {
        "PLAIN" | "CRAM-MD5" | "EXTERNAL" | "ANONYMOUS" => 1,
        "LOGIN" => 2,
        _ => u32::MAX,
    }
}
