//! The `sip` object of a flow record, from [`SipSummary`]. Never writes a secret: Digest
//! responses, nonces, NTLM/Kerberos/TLS-DSK tokens and SRTP keys are not in the summary; only
//! the auth scheme, the Digest user name and the SRTP crypto suite are.
//!
//! | field | meaning |
//! |---|---|
//! | `transport` | `udp` (datagrams) or `tcp` (stream) |
//! | `cleartext` | SIP was read in clear text (the flow's `encryption` says whether it was TLS) |
//! | `messages`, `requests`, `responses` | counts |
//! | `methods`, `status_codes` | counts by request method (unknown methods as written) and by status code |
//! | `via_transports` | messages by their topmost Via transport (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, ...) |
//! | `calls` | per Call-ID: `call_id`, `from`, `from_tag`, `to`, `to_tag` (URIs only), `methods`, `status_codes`, `via_transports`, `via_sent_by` (topmost Via host[:port]), `contacts` (Contact URIs), `auth_schemes` (`Digest`, `NTLM`, `Kerberos`, `TLS-DSK`, ...), `digest_usernames`, `user_agents` (User-Agent and Server) |
//! | `sdp_media` | per SDP media description: `call_id`, `sip` (the carrying request method or status code), `media`, `address`, `addr_type`, `port`, `port_count`, `proto`, `formats`, `srtp` (the proto is a SAVP profile), `crypto_suites` (`a=crypto` suites, never keys), `fingerprint` (`a=fingerprint`, DTLS-SRTP), `rtcp_port` |
//! | `keepalives`, `bodies_skipped`, `parse_errors`, `gaps` | CRLF keep-alives; bodies not parsed; malformed lines and messages; capture gaps |
//! | `*_dropped` | entries past the summary's caps (`methods`, `status_codes`, `via_transports`, `calls`, `sdp_media`); present only when non-zero |

use super::json::Obj;
use crate::proto::sip::SipSummary;

fn counts<'a>(o: &mut Obj<'_>, k: &str, v: impl IntoIterator<Item = (&'a str, u64)>) {
    o.obj(k, |c| {
        for (name, n) in v {
            c.u64(name, n);
        }
    });
}

fn codes(o: &mut Obj<'_>, k: &str, v: &[(u16, u64)]) {
    o.obj(k, |c| {
        let mut b = itoa::Buffer::new();
        for (code, n) in v {
            c.u64(b.format(*code), *n);
        }
    });
}

/// Write the summary's fields into an object body (`o.obj("sip", |l| write_sip(l, s))`).
pub fn write_sip(o: &mut Obj<'_>, s: &SipSummary) {
    o.str("transport", if s.udp { "udp" } else { "tcp" })
        .bool("cleartext", s.cleartext)
        .u64("messages", s.messages)
        .u64("requests", s.requests)
        .u64("responses", s.responses);
    counts(o, "methods", s.methods.iter().map(|(k, n)| (k.as_str(), *n)));
    codes(o, "status_codes", &s.status_codes);
    counts(
        o,
        "via_transports",
        s.via_transports.iter().map(|(k, n)| (k.as_str(), *n)),
    );
    o.obj_array("calls", &s.calls, |c, x| {
        c.str("call_id", &x.call_id)
            .opt_str("from", x.from.as_deref())
            .opt_str("from_tag", x.from_tag.as_deref())
            .opt_str("to", x.to.as_deref())
            .opt_str("to_tag", x.to_tag.as_deref());
        counts(c, "methods", x.methods.iter().map(|(k, n)| (k.as_str(), *n)));
        codes(c, "status_codes", &x.status_codes);
        c.str_array("via_transports", x.via_transports.iter().map(String::as_str))
            .str_array("via_sent_by", x.via_sent_by.iter().map(String::as_str))
            .str_array("contacts", x.contacts.iter().map(String::as_str))
            .str_array("auth_schemes", x.auth_schemes.iter().map(String::as_str))
            .str_array("digest_usernames", x.digest_usernames.iter().map(String::as_str))
            .str_array("user_agents", x.user_agents.iter().map(String::as_str));
    });
    o.obj_array("sdp_media", &s.sdp_media, |m, x| {
        m.str("call_id", &x.call_id)
            .str("sip", &x.sip)
            .str("media", &x.media)
            .opt_str("address", x.address.as_deref())
            .str("addr_type", &x.addr_type)
            .u64("port", x.port as u64)
            .u64("port_count", x.port_count as u64)
            .str("proto", &x.proto)
            .str("formats", &x.formats)
            .bool("srtp", x.srtp)
            .str_array("crypto_suites", x.crypto_suites.iter().map(String::as_str))
            .bool("fingerprint", x.fingerprint);
        match x.rtcp_port {
            Some(p) => m.u64("rtcp_port", p as u64),
            None => m.null("rtcp_port"),
        };
    });
    o.u64("keepalives", s.keepalives)
        .u64("bodies_skipped", s.bodies_skipped)
        .u64("parse_errors", s.parse_errors)
        .u64("gaps", s.gaps);
    for (k, n) in [
        ("methods_dropped", s.methods_dropped),
        ("status_codes_dropped", s.status_codes_dropped),
        ("via_transports_dropped", s.transports_dropped),
        ("calls_dropped", s.calls_dropped),
        ("sdp_media_dropped", s.sdp_media_dropped),
    ] {
        if n > 0 {
            o.u64(k, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Direction;
    use crate::proto::sip::SipState;

    #[test]
    fn writes_valid_json_without_secrets() {
        let mut st = SipState::new();
        for m in [
            &include_bytes!("../../fixtures/pdu/sip/udp-register-01-s.bin")[..],
            include_bytes!("../../fixtures/pdu/sip/udp-register-02-c.bin"),
        ] {
            st.datagram(Direction::ToServer, m);
        }
        let mut buf = Vec::new();
        let mut o = Obj::new(&mut buf);
        o.obj("sip", |l| write_sip(l, st.summary()));
        o.close();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        let s = &v["sip"];
        assert_eq!(s["transport"], "udp");
        assert_eq!(s["methods"]["REGISTER"], 1);
        assert_eq!(s["status_codes"]["401"], 1);
        assert_eq!(s["calls"][0]["auth_schemes"][0], "Digest");
        assert_eq!(s["calls"][0]["digest_usernames"][0], "alice");
        let text = String::from_utf8(buf).unwrap();
        assert!(!text.contains("40017dfd") && !text.contains("nonce"));
    }
}
