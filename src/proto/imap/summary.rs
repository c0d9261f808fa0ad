//! What one IMAP connection showed, owned and bounded: the record the output layer writes.

/// Greeting text, capabilities and user names are cut to this many bytes.
pub const MAX_TEXT_BYTES: usize = 256;
/// Capabilities kept (the union of every list seen).
pub const MAX_CAPABILITIES: usize = 64;
/// LOGIN / AUTHENTICATE exchanges kept.
pub const MAX_AUTHS: usize = 8;
/// Distinct command names counted; further ones go to `other_commands`.
pub const MAX_DISTINCT: usize = 32;

/// The text Exchange's IMAP4 service puts in its greeting (protocol-notes §3.2; Exchange 5.5
/// says "Microsoft Exchange IMAP4rev1 server").
pub const EXCHANGE_GREETING: &str = "Microsoft Exchange";

/// A STARTTLS command (RFC 9051 §6.2.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartTls {
    /// `OK`, `NO` or `BAD` of the tagged response.
    pub status: Option<&'static str>,
    /// TLS followed (a tagged OK, or a TLS record from the client).
    pub accepted: bool,
}

/// One LOGIN (RFC 9051 §6.2.3) or AUTHENTICATE (§6.2.2) exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Auth {
    /// `LOGIN` or `AUTHENTICATE`.
    pub command: &'static str,
    /// The SASL mechanism, upper-cased (empty for LOGIN).
    pub mechanism: String,
    /// SASL-IR (RFC 4959): the initial response was on the command line.
    pub initial_response_inline: bool,
    /// SASL responses the client sent (the initial response included).
    pub responses: u32,
    /// The user name (LOGIN's first argument; PLAIN authcid; LOGIN mechanism's first response;
    /// NTLM `DOMAIN\user`). Passwords are never kept.
    pub user: Option<String>,
    pub status: Option<&'static str>,
    pub success: bool,
    /// The client aborted the exchange with `*`.
    pub cancelled: bool,
    /// A password or bearer token crossed (LOGIN; PLAIN, LOGIN, XOAUTH2 mechanisms).
    pub cleartext_credentials: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImapSummary {
    /// The greeting's status (`OK`, `PREAUTH`, `BYE`) and text (after any response code).
    pub greeting_status: Option<&'static str>,
    pub greeting: Option<String>,
    /// The greeting names Microsoft Exchange.
    pub exchange_greeting: bool,
    /// Capabilities advertised (greeting code, CAPABILITY responses, tagged OK codes).
    pub capabilities: Vec<String>,
    pub starttls_offered: bool,
    /// LOGINDISABLED (RFC 9051 §6.2.3): the server refuses LOGIN in clear text.
    pub logindisabled: bool,
    /// SASL mechanisms of the `AUTH=` capabilities.
    pub auth_offered: Vec<String>,
    pub starttls: Option<StartTls>,
    pub auth: Vec<Auth>,
    /// Upper-cased command name and count, in first-seen order.
    pub commands: Vec<(String, u64)>,
    pub other_commands: u64,
    pub tagged_ok: u64,
    pub tagged_no: u64,
    pub tagged_bad: u64,
    /// Literal octets skipped, client and server (APPEND data, FETCH bodies).
    pub literal_bytes: u64,
    /// Lines that were neither commands nor responses where one was expected.
    pub unknown_lines: u64,
    pub overlong_lines: u64,
    pub gaps: u64,
}

impl ImapSummary {
    /// Credentials crossed in clear text (this parser only sees clear text).
    pub fn cleartext_credentials(&self) -> bool {
        self.auth.iter().any(|a| a.cleartext_credentials)
    }

    /// The server offered STARTTLS and the client never issued it.
    pub fn starttls_not_used(&self) -> bool {
        self.starttls_offered && self.starttls.is_none()
    }

    /// RFC 9051 §7.2.2 `capability-data`: a space-separated list.
    pub(super) fn capabilities(&mut self, list: &[u8]) {
        for c in list.split(|&b| b == b' ').filter(|c| !c.is_empty()) {
            if c.eq_ignore_ascii_case(b"STARTTLS") {
                self.starttls_offered = true;
            } else if c.eq_ignore_ascii_case(b"LOGINDISABLED") {
                self.logindisabled = true;
            } else if c.len() > 5 && c[..5].eq_ignore_ascii_case(b"AUTH=") {
                let mut m = super::state::text(&c[5..]);
                m.make_ascii_uppercase();
                if !self.auth_offered.contains(&m) && self.auth_offered.len() < MAX_CAPABILITIES {
                    self.auth_offered.push(m);
                }
            }
            if !self.capabilities.iter().any(|x| x.as_bytes().eq_ignore_ascii_case(c))
                && self.capabilities.len() < MAX_CAPABILITIES
            {
                self.capabilities.push(super::state::text(c));
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
