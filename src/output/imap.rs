//! The `imap` object of a flow record, from [`ImapSummary`]. Passwords are never written: only
//! user names.
//!
//! | field | meaning |
//! |---|---|
//! | `greeting_status`, `greeting` | `OK`/`PREAUTH`/`BYE` and the greeting text; `exchange_greeting` when it names Microsoft Exchange |
//! | `capabilities` | every capability advertised (greeting code, CAPABILITY responses) |
//! | `starttls_offered`, `logindisabled`, `auth_offered` | STARTTLS, LOGINDISABLED and the `AUTH=` mechanisms |
//! | `starttls` | `{status, accepted}` when STARTTLS was issued, else `null`; `starttls_not_used` when offered and never issued |
//! | `auth` | per LOGIN / AUTHENTICATE: `command`, `mechanism`, `initial_response_inline`, `responses`, `user` (never the password), `status`, `success`, `cancelled`, `cleartext_credentials` |
//! | `cleartext_credentials` | a password or token crossed in clear text |
//! | `commands` | counts by command name |
//! | `tagged_ok`, `tagged_no`, `tagged_bad` | tagged response counts |
//! | `literal_bytes` | literal octets skipped, both ways |
//! | `unknown_lines`, `overlong_lines`, `gaps` | lines that did not parse, lines over the limit, capture gaps |

use super::json::Obj;
use crate::proto::imap::ImapSummary;

pub fn write_imap(o: &mut Obj<'_>, s: &ImapSummary) {
    o.opt_str("greeting_status", s.greeting_status)
        .opt_str("greeting", s.greeting.as_deref())
        .bool("exchange_greeting", s.exchange_greeting)
        .str_array("capabilities", s.capabilities.iter().map(String::as_str))
        .bool("starttls_offered", s.starttls_offered)
        .bool("logindisabled", s.logindisabled)
        .str_array("auth_offered", s.auth_offered.iter().map(String::as_str));
    match &s.starttls {
        Some(t) => o.obj("starttls", |o| {
            o.opt_str("status", t.status).bool("accepted", t.accepted);
        }),
        None => o.null("starttls"),
    };
    o.bool("starttls_not_used", s.starttls_not_used())
        .obj_array("auth", &s.auth, |o, a| {
            o.str("command", a.command)
                .str("mechanism", &a.mechanism)
                .bool("initial_response_inline", a.initial_response_inline)
                .u64("responses", a.responses as u64)
                .opt_str("user", a.user.as_deref())
                .opt_str("status", a.status)
                .bool("success", a.success)
                .bool("cancelled", a.cancelled)
                .bool("cleartext_credentials", a.cleartext_credentials);
        })
        .bool("cleartext_credentials", s.cleartext_credentials())
        .obj("commands", |o| {
            for (v, n) in &s.commands {
                o.u64(v, *n);
            }
            if s.other_commands > 0 {
                o.u64("(other)", s.other_commands);
            }
        })
        .u64("tagged_ok", s.tagged_ok)
        .u64("tagged_no", s.tagged_no)
        .u64("tagged_bad", s.tagged_bad)
        .u64("literal_bytes", s.literal_bytes)
        .u64("unknown_lines", s.unknown_lines)
        .u64("overlong_lines", s.overlong_lines)
        .u64("gaps", s.gaps);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::StreamParser;
    use crate::proto::imap::ImapState;
    use crate::proto::segments::segments;

    #[test]
    fn writes_json_without_the_password() {
        let mut st = ImapState::new();
        for (d, b) in segments(include_bytes!("../../fixtures/pdu/imap/imap-dovecot-4.seg")) {
            st.feed(d, b, 0);
        }
        let mut buf = Vec::new();
        let mut o = Obj::new(&mut buf);
        write_imap(&mut o, st.summary());
        o.close();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["auth"][0]["user"], "alice");
        assert_eq!(v["cleartext_credentials"], true);
        assert_eq!(v["commands"]["LOGIN"], 1);
        assert!(!String::from_utf8_lossy(&buf).contains("S3cret"));
    }
}
