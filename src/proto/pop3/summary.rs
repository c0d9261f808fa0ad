//! What one POP3 connection showed, owned and bounded: the record the output layer writes.

/// Greeting text, CAPA lines and user names are cut to this many bytes.
pub const MAX_TEXT_BYTES: usize = 256;
/// CAPA lines kept.
pub const MAX_CAPA_LINES: usize = 32;
/// USER/PASS, APOP and AUTH exchanges kept.
pub const MAX_AUTHS: usize = 8;
/// Distinct command keywords counted; further ones go to `other_commands`.
pub const MAX_DISTINCT: usize = 32;

/// The text Exchange's POP3 service puts in its greeting (protocol-notes §3.2).
pub const EXCHANGE_GREETING: &str = "Microsoft Exchange";

/// An STLS command (RFC 2595 §4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stls {
    /// `+OK` or `-ERR`.
    pub status: Option<&'static str>,
    /// TLS followed (+OK, or a TLS record from the client).
    pub accepted: bool,
}

/// One USER/PASS pair (RFC 1939 §7), APOP, or AUTH (RFC 5034) exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Auth {
    /// `USER`, `APOP` or `AUTH`.
    pub command: &'static str,
    /// The SASL mechanism of AUTH, upper-cased (empty otherwise).
    pub mechanism: String,
    pub initial_response_inline: bool,
    /// SASL responses (AUTH) or PASS commands (USER) the client sent.
    pub responses: u32,
    /// USER's and APOP's name; PLAIN authcid; LOGIN's first response; NTLM `DOMAIN\user`.
    /// Passwords are never kept.
    pub user: Option<String>,
    /// `+OK` or `-ERR` of the final reply.
    pub status: Option<&'static str>,
    pub success: bool,
    pub cancelled: bool,
    /// A password or token crossed (PASS; PLAIN, LOGIN, XOAUTH2). APOP's digest does not count.
    pub cleartext_credentials: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pop3Summary {
    /// The greeting's text after `+OK`.
    pub greeting: Option<String>,
    /// The greeting names Microsoft Exchange.
    pub exchange_greeting: bool,
    /// RFC 1939 §7: the greeting's `<...@...>` timestamp: APOP is possible.
    pub apop_timestamp: Option<String>,
    /// CAPA response lines (RFC 2449 §5), as sent.
    pub capa: Vec<String>,
    pub stls_offered: bool,
    /// SASL mechanisms of the CAPA `SASL` line.
    pub sasl_offered: Vec<String>,
    /// CAPA lists `USER` (USER/PASS allowed).
    pub user_offered: bool,
    pub stls: Option<Stls>,
    pub auth: Vec<Auth>,
    /// Upper-cased keyword and count, in first-seen order.
    pub commands: Vec<(String, u64)>,
    pub other_commands: u64,
    pub ok_replies: u64,
    pub err_replies: u64,
    /// Multi-line response bytes skipped (RETR, TOP, LIST, UIDL bodies).
    pub multiline_bytes: u64,
    pub unknown_lines: u64,
    pub overlong_lines: u64,
    pub gaps: u64,
}

impl Pop3Summary {
    /// Credentials crossed in clear text (this parser only sees clear text).
    pub fn cleartext_credentials(&self) -> bool {
        self.auth.iter().any(|a| a.cleartext_credentials)
    }

    /// The server offered STLS and the client never issued it.
    pub fn stls_not_used(&self) -> bool {
        self.stls_offered && self.stls.is_none()
    }

    /// RFC 2449 §6: `capa-tag *(SP param)`.
    pub(super) fn capa_line(&mut self, line: &[u8]) {
        if self.capa.len() < MAX_CAPA_LINES {
            self.capa.push(super::state::text(line));
        }
        let (tag, params) = crate::proto::lines::split_word(line);
        if tag.eq_ignore_ascii_case(b"STLS") {
            self.stls_offered = true;
        } else if tag.eq_ignore_ascii_case(b"USER") {
            self.user_offered = true;
        } else if tag.eq_ignore_ascii_case(b"SASL") {
            for m in params.split(|&b| b == b' ').filter(|m| !m.is_empty()) {
                let mut m = super::state::text(m);
                m.make_ascii_uppercase();
                if !self.sasl_offered.contains(&m) && self.sasl_offered.len() < MAX_CAPA_LINES {
                    self.sasl_offered.push(m);
                }
            }
        }
    }

    pub(super) fn count_command(&mut self, verb: &[u8]) {
        if let Some(e) = self.commands.iter_mut().find(|(v, _)| v.as_bytes() == verb) {
            e.1 += 1;
        } else if self.commands.len() < MAX_DISTINCT {
            self.commands.push((super::state::text(verb), 1));
        } else {
            self.other_commands += 1;
        }
    }
}
