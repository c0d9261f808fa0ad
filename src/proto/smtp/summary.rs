//! What one SMTP connection showed, owned and bounded: the record the output layer writes.

/// Banner, HELO names, addresses, extension lines and user names are cut to this many bytes.
pub const MAX_TEXT_BYTES: usize = 256;
/// EHLO extension lines kept.
pub const MAX_EXTENSIONS: usize = 32;
/// AUTH / X-EXPS exchanges kept.
pub const MAX_AUTHS: usize = 8;
/// MAIL FROM and RCPT TO addresses kept (each); all are counted.
pub const MAX_ADDRESSES: usize = 16;
/// Distinct command verbs and reply codes counted; further ones go to `other_*`.
pub const MAX_DISTINCT: usize = 32;

/// The banner text Exchange's transport service sends (protocol-notes §3.1).
pub const EXCHANGE_BANNER: &str = "Microsoft ESMTP MAIL Service";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Helo {
    /// "EHLO", "HELO" or "LHLO".
    pub command: &'static str,
    pub name: String,
    pub reply_code: Option<u16>,
}

/// A STARTTLS or X-ANONYMOUSTLS request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartTls {
    pub command: &'static str,
    pub reply_code: Option<u16>,
    /// TLS followed (a 220 reply, or a TLS record from the client).
    pub accepted: bool,
}

/// One AUTH (RFC 4954) or X-EXPS exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Auth {
    /// "AUTH" or "X-EXPS".
    pub command: &'static str,
    /// Upper-cased: PLAIN, LOGIN, NTLM, GSSAPI, XOAUTH2, EXCHANGEAUTH...
    pub mechanism: String,
    pub initial_response_inline: bool,
    /// SASL responses the client sent (the initial response included).
    pub responses: u32,
    /// Decoded user name (PLAIN authcid, LOGIN first response, XOAUTH2 user, NTLM
    /// DOMAIN\user). Passwords are never kept.
    pub user: Option<String>,
    pub reply_code: Option<u16>,
    pub success: bool,
    /// The client aborted with "*".
    pub cancelled: bool,
    /// A password or bearer token crossed (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER responses).
    pub cleartext_credentials: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SmtpSummary {
    /// The greeting's first line text (after the code).
    pub banner: Option<String>,
    pub banner_code: Option<u16>,
    /// The banner names Exchange's transport service.
    pub exchange_banner: bool,
    pub helo: Option<Helo>,
    /// The EHLO reply's extension lines (after its first line), as sent.
    pub extensions: Vec<String>,
    pub starttls_offered: bool,
    pub x_anonymoustls_offered: bool,
    pub pipelining: bool,
    pub chunking: bool,
    pub xexch50_offered: bool,
    pub auth_offered: Vec<String>,
    /// Exchange's X-EXPS packages (e.g. GSSAPI NTLM).
    pub x_exps_offered: Vec<String>,
    pub starttls: Option<StartTls>,
    pub auth: Vec<Auth>,
    pub mail_from: Vec<String>,
    pub rcpt_to: Vec<String>,
    pub mail_from_count: u64,
    pub rcpt_to_count: u64,
    pub data_count: u64,
    pub bdat_count: u64,
    /// Messages the server accepted (250 after the body or after BDAT LAST).
    pub messages: u64,
    /// Body bytes skipped (DATA, BDAT, XEXCH50).
    pub body_bytes: u64,
    /// Upper-cased verb and count, in first-seen order.
    pub commands: Vec<(String, u64)>,
    pub other_commands: u64,
    pub reply_codes: Vec<(u16, u64)>,
    pub other_reply_codes: u64,
    /// Lines that were neither a command nor a reply where one was expected.
    pub unknown_lines: u64,
    /// Stretches of either direction that were not captured.
    pub gaps: u64,
}

impl SmtpSummary {
    /// Credentials crossed in clear text (this parser only sees clear text).
    pub fn cleartext_credentials(&self) -> bool {
        self.auth.iter().any(|a| a.cleartext_credentials)
    }

    /// The server offered STARTTLS (or X-ANONYMOUSTLS) and the client did not use it.
    pub fn starttls_not_used(&self) -> bool {
        (self.starttls_offered || self.x_anonymoustls_offered) && self.starttls.is_none()
    }

    pub(super) fn set_banner(&mut self, code: u16, text: &[u8]) {
        let t = super::state::text(text.trim_ascii_end());
        self.exchange_banner = t.contains(EXCHANGE_BANNER);
        self.banner = Some(t);
        self.banner_code = Some(code);
    }

    /// RFC 5321 §4.1.1.1 `ehlo-line`; RFC 4954 §3 AUTH; RFC 3207 STARTTLS; RFC 2920
    /// PIPELINING; RFC 3030 CHUNKING; KB 812455 X-EXPS, XEXCH50; X-ANONYMOUSTLS.
    pub(super) fn ehlo_line(&mut self, line: &[u8]) {
        if self.extensions.len() < MAX_EXTENSIONS {
            self.extensions.push(super::state::text(line));
        }
        let (kw, params) = super::parser::ehlo_keyword(line);
        let is = |s: &[u8]| kw.eq_ignore_ascii_case(s);
        if is(b"STARTTLS") {
            self.starttls_offered = true;
        } else if is(b"X-ANONYMOUSTLS") {
            self.x_anonymoustls_offered = true;
        } else if is(b"PIPELINING") {
            self.pipelining = true;
        } else if is(b"CHUNKING") {
            self.chunking = true;
        } else if is(b"XEXCH50") {
            self.xexch50_offered = true;
        } else if is(b"AUTH") || is(b"X-EXPS") {
            let list = if is(b"AUTH") {
                &mut self.auth_offered
            } else {
                &mut self.x_exps_offered
            };
            for m in super::parser::words(params) {
                let mut m = super::state::text(m);
                m.make_ascii_uppercase();
                if list.len() < MAX_EXTENSIONS && !list.contains(&m) {
                    list.push(m);
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

    pub(super) fn count_reply(&mut self, code: u16) {
        if let Some(e) = self.reply_codes.iter_mut().find(|(c, _)| *c == code) {
            e.1 += 1;
        } else if self.reply_codes.len() < MAX_DISTINCT {
            self.reply_codes.push((code, 1));
        } else {
            self.other_reply_codes += 1;
        }
    }

    pub(super) fn push_address(&mut self, from: bool, a: &[u8]) {
        let list = if from { &mut self.mail_from } else { &mut self.rcpt_to };
        if list.len() < MAX_ADDRESSES {
            list.push(super::state::text(a));
        }
    }
}
