//! The `smtp` object of a flow record, from [`SmtpSummary`].
//!
//! | field | meaning |
//! |---|---|
//! | `banner`, `banner_code` | the greeting's text and code; `exchange_banner` when it names "Microsoft ESMTP MAIL Service" |
//! | `helo` | `{command, name, reply_code}` of the first HELO/EHLO/LHLO |
//! | `extensions` | the EHLO reply's extension lines as sent |
//! | `starttls_offered`, `x_anonymoustls_offered`, `pipelining`, `chunking`, `xexch50_offered` | what EHLO offered |
//! | `auth_offered`, `x_exps_offered` | SASL mechanisms offered by AUTH and Exchange's X-EXPS |
//! | `starttls` | `{command, reply_code, accepted}` when STARTTLS or X-ANONYMOUSTLS was issued, else `null` |
//! | `starttls_not_used` | offered and never issued |
//! | `auth` | per AUTH / X-EXPS: `command`, `mechanism`, `initial_response_inline`, `responses`, `user` (decoded; never the password), `reply_code`, `success`, `cancelled`, `cleartext_credentials` |
//! | `cleartext_credentials` | a password or token crossed in clear text |
//! | `mail_from`, `rcpt_to` | the first addresses (bounded) |
//! | `mail_from_count`, `rcpt_to_count`, `data_count`, `bdat_count`, `messages`, `body_bytes` | counts |
//! | `commands`, `reply_codes` | counts by verb and by code |
//! | `unknown_lines`, `gaps` | lines that were neither commands nor replies; capture gaps |

use super::json::Obj;
use crate::proto::smtp::SmtpSummary;

pub fn write_smtp(o: &mut Obj<'_>, s: &SmtpSummary) {
    o.opt_str("banner", s.banner.as_deref());
    match s.banner_code {
        Some(c) => o.u64("banner_code", c as u64),
        None => o.null("banner_code"),
    };
    o.bool("exchange_banner", s.exchange_banner);
    match &s.helo {
        Some(h) => o.obj("helo", |o| {
            o.str("command", h.command).str("name", &h.name);
            opt_code(o, "reply_code", h.reply_code);
        }),
        None => o.null("helo"),
    };
    o.str_array("extensions", s.extensions.iter().map(String::as_str))
        .bool("starttls_offered", s.starttls_offered)
        .bool("x_anonymoustls_offered", s.x_anonymoustls_offered)
        .bool("pipelining", s.pipelining)
        .bool("chunking", s.chunking)
        .bool("xexch50_offered", s.xexch50_offered)
        .str_array("auth_offered", s.auth_offered.iter().map(String::as_str))
        .str_array("x_exps_offered", s.x_exps_offered.iter().map(String::as_str));
    match &s.starttls {
        Some(t) => o.obj("starttls", |o| {
            o.str("command", t.command);
            opt_code(o, "reply_code", t.reply_code);
            o.bool("accepted", t.accepted);
        }),
        None => o.null("starttls"),
    };
    o.bool("starttls_not_used", s.starttls_not_used());
    o.obj_array("auth", &s.auth, |o, a| {
        o.str("command", a.command)
            .str("mechanism", &a.mechanism)
            .bool("initial_response_inline", a.initial_response_inline)
            .u64("responses", a.responses as u64)
            .opt_str("user", a.user.as_deref());
        opt_code(o, "reply_code", a.reply_code);
        o.bool("success", a.success)
            .bool("cancelled", a.cancelled)
            .bool("cleartext_credentials", a.cleartext_credentials);
    });
    o.bool("cleartext_credentials", s.cleartext_credentials())
        .str_array("mail_from", s.mail_from.iter().map(String::as_str))
        .str_array("rcpt_to", s.rcpt_to.iter().map(String::as_str))
        .u64("mail_from_count", s.mail_from_count)
        .u64("rcpt_to_count", s.rcpt_to_count)
        .u64("data_count", s.data_count)
        .u64("bdat_count", s.bdat_count)
        .u64("messages", s.messages)
        .u64("body_bytes", s.body_bytes)
        .obj("commands", |o| {
            for (v, n) in &s.commands {
                o.u64(v, *n);
            }
            if s.other_commands > 0 {
                o.u64("(other)", s.other_commands);
            }
        })
        .obj("reply_codes", |o| {
            let mut b = itoa::Buffer::new();
            for (c, n) in &s.reply_codes {
                o.u64(b.format(*c), *n);
            }
            if s.other_reply_codes > 0 {
                o.u64("(other)", s.other_reply_codes);
            }
        })
        .u64("unknown_lines", s.unknown_lines)
        .u64("gaps", s.gaps);
}

fn opt_code(o: &mut Obj<'_>, k: &str, c: Option<u16>) {
    match c {
        Some(c) => o.u64(k, c as u64),
        None => o.null(k),
    };
}
