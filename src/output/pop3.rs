//! The `pop3` object of a flow record, from [`Pop3Summary`]. Passwords are never written: only
//! user names.
//!
//! | field | meaning |
//! |---|---|
//! | `greeting` | the greeting text; `exchange_greeting` when it names Microsoft Exchange; `apop_timestamp` the `<...@...>` that makes APOP possible |
//! | `capa` | CAPA lines as sent; `stls_offered`, `user_offered`, `sasl_offered` (mechanisms) |
//! | `stls` | `{status, accepted}` when STLS was issued, else `null`; `stls_not_used` when offered and never issued |
//! | `auth` | per USER/PASS, APOP, AUTH: `command`, `mechanism`, `initial_response_inline`, `responses`, `user` (never the password), `status`, `success`, `cancelled`, `cleartext_credentials` |
//! | `cleartext_credentials` | a password or token crossed in clear text |
//! | `commands` | counts by keyword; `ok_replies`, `err_replies` |
//! | `multiline_bytes` | multi-line response bytes skipped (RETR, TOP, LIST, UIDL) |
//! | `unknown_lines`, `overlong_lines`, `gaps` | lines that did not parse, lines over the limit, capture gaps |

use super::json::Obj;
use crate::proto::pop3::Pop3Summary;

pub fn write_pop3(o: &mut Obj<'_>, s: &Pop3Summary) {
    o.opt_str("greeting", s.greeting.as_deref())
        .bool("exchange_greeting", s.exchange_greeting)
        .opt_str("apop_timestamp", s.apop_timestamp.as_deref())
        .str_array("capa", s.capa.iter().map(String::as_str))
        .bool("stls_offered", s.stls_offered)
        .bool("user_offered", s.user_offered)
        .str_array("sasl_offered", s.sasl_offered.iter().map(String::as_str));
    match &s.stls {
        Some(t) => o.obj("stls", |o| {
            o.opt_str("status", t.status).bool("accepted", t.accepted);
        }),
        None => o.null("stls"),
    };
    o.bool("stls_not_used", s.stls_not_used())
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
        .u64("ok_replies", s.ok_replies)
        .u64("err_replies", s.err_replies)
        .u64("multiline_bytes", s.multiline_bytes)
        .u64("unknown_lines", s.unknown_lines)
        .u64("overlong_lines", s.overlong_lines)
        .u64("gaps", s.gaps);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::StreamParser;
    use crate::proto::pop3::Pop3State;
    use crate::proto::segments::segments;

    #[test]
    fn writes_json_without_the_password() {
        let mut st = Pop3State::new();
        for (d, b) in segments(include_bytes!("../../fixtures/pdu/pop3/pop3-dovecot-0.seg")) {
            st.feed(d, b, 0);
        }
        let mut buf = Vec::new();
        let mut o = Obj::new(&mut buf);
        write_pop3(&mut o, st.summary());
        o.close();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["auth"][0]["user"], "alice");
        assert_eq!(v["stls_not_used"], true);
        assert_eq!(v["commands"]["RETR"], 1);
        assert!(!String::from_utf8_lossy(&buf).contains("S3cret"));
    }
}
