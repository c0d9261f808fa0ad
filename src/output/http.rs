//! The `http` object of a flow record, from [`HttpSummary`]. Passwords, hashes and tokens are
//! never written: only user names.
//!
//! | field | meaning |
//! |---|---|
//! | `request_count`, `response_count` | messages seen (all of them) |
//! | `requests` | the first requests (bounded): `method`, `target`, `version`, `host`, `user_agent`, `content_type`, `content_length`, `chunked`, `service`, `rpc_backend` (`{host, port}`), `mapi_request_type`, `authorization` (`{scheme, user, ntlmssp_type}` or `null`), `status` (of the final response that answered it) |
//! | `responses` | the first responses (bounded): `version`, `status`, `reason`, `server`, `content_type`, `content_length`, `chunked`, `www_authenticate` (challenge schemes), `ntlmssp_type` |
//! | `services` | Exchange services named by any request: `owa`, `ews`, `activesync`, `mapi_emsmdb`, `mapi_nspi`, `rpc_over_http`, `autodiscover`, `oab`, `ecp`, `powershell` |
//! | `rpc_backends` | RPC over HTTP `{host, port, interface}` targets: the port names the Exchange service behind the proxy (6001 store: `EMSMDB`, 6002 referral: `RFR`, 6004 address book: `NSPI`; `null` for another port) |
//! | `auth_schemes`, `users` | `Authorization` schemes used and the user names they carried |
//! | `basic_auth_in_cleartext` | `Authorization: Basic` crossed without TLS |
//! | `request_body_bytes`, `response_body_bytes` | body bytes skipped |
//! | `switched_protocols` | a 101 or a CONNECT tunnel ended HTTP parsing |
//! | `unknown_lines`, `overlong_lines`, `gaps` | lines that did not parse, lines over the limit, capture gaps |

use super::json::Obj;
use crate::proto::http::HttpSummary;

/// The RPC interface behind an Exchange RPC-over-HTTP back-end port (the fixed ports the
/// Exchange 2010 client access page documents: 6001 Information Store, 6002 referral service,
/// 6004 address book proxy).
pub fn rpc_backend_interface(port: u16) -> Option<&'static str> {
    match port {
        6001 => Some("EMSMDB"),
        6002 => Some("RFR"),
        6004 => Some("NSPI"),
        _ => None,
    }
}

pub fn write_http(o: &mut Obj<'_>, s: &HttpSummary) {
    o.u64("request_count", s.request_count)
        .u64("response_count", s.response_count)
        .obj_array("requests", &s.requests, |o, r| {
            o.str("method", &r.method)
                .str("target", &r.target)
                .str("version", &r.version)
                .opt_str("host", r.host.as_deref())
                .opt_str("user_agent", r.user_agent.as_deref())
                .opt_str("content_type", r.content_type.as_deref());
            opt_u64(o, "content_length", r.content_length);
            o.bool("chunked", r.chunked).opt_str("service", r.service);
            match &r.rpc_backend {
                Some((h, p)) => o.obj("rpc_backend", |o| {
                    o.str("host", h)
                        .u64("port", *p as u64)
                        .opt_str("interface", rpc_backend_interface(*p));
                }),
                None => o.null("rpc_backend"),
            };
            o.opt_str("mapi_request_type", r.mapi_request_type.as_deref());
            match &r.authorization {
                Some(a) => o.obj("authorization", |o| {
                    o.str("scheme", &a.scheme).opt_str("user", a.user.as_deref());
                    opt_u64(o, "ntlmssp_type", a.ntlmssp_type.map(u64::from));
                }),
                None => o.null("authorization"),
            };
            opt_u64(o, "status", r.status.map(u64::from));
        })
        .obj_array("responses", &s.responses, |o, r| {
            o.str("version", &r.version)
                .u64("status", r.status as u64)
                .str("reason", &r.reason)
                .opt_str("server", r.server.as_deref())
                .opt_str("content_type", r.content_type.as_deref());
            opt_u64(o, "content_length", r.content_length);
            o.bool("chunked", r.chunked)
                .str_array("www_authenticate", r.www_authenticate.iter().map(String::as_str));
            opt_u64(o, "ntlmssp_type", r.ntlmssp_type.map(u64::from));
        })
        .str_array("services", s.services.iter().copied())
        .obj_array("rpc_backends", &s.rpc_backends, |o, (h, p)| {
            o.str("host", h)
                .u64("port", *p as u64)
                .opt_str("interface", rpc_backend_interface(*p));
        })
        .str_array("auth_schemes", s.auth_schemes.iter().map(String::as_str))
        .str_array("users", s.users.iter().map(String::as_str))
        .bool("basic_auth_in_cleartext", s.basic_auth_in_cleartext)
        .u64("request_body_bytes", s.request_body_bytes)
        .u64("response_body_bytes", s.response_body_bytes)
        .bool("switched_protocols", s.switched_protocols)
        .u64("unknown_lines", s.unknown_lines)
        .u64("overlong_lines", s.overlong_lines)
        .u64("gaps", s.gaps);
}

fn opt_u64(o: &mut Obj<'_>, k: &str, v: Option<u64>) {
    match v {
        Some(v) => o.u64(k, v),
        None => o.null(k),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::StreamParser;
    use crate::proto::http::HttpState;
    use crate::proto::segments::segments;

    #[test]
    fn writes_json_without_the_password() {
        let mut st = HttpState::new();
        for (d, b) in segments(include_bytes!("../../fixtures/pdu/http/http-curl-6.seg")) {
            st.feed(d, b, 0);
        }
        let mut buf = Vec::new();
        let mut o = Obj::new(&mut buf);
        write_http(&mut o, st.summary());
        o.close();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["services"][0], "owa");
        assert_eq!(v["requests"][0]["authorization"]["user"], "carol");
        assert_eq!(v["basic_auth_in_cleartext"], true);
        assert!(!String::from_utf8_lossy(&buf).contains("Pipe!ined"));
    }
}
