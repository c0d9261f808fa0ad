//! HTTP state machine tests on real sessions: curl and a Python peer standing in for an
//! Exchange front end (fixtures/make-mail-fixtures.sh), one segment file per TCP connection.

use super::*;
use crate::proto::segments::{payload_len, replay};
use crate::proto::{Direction, StreamParser, Verdict};

const OWA_NTLM_CHUNKED: &[u8] = include_bytes!("../../../fixtures/pdu/http/http-curl-0.seg");
const EWS_NTLM: &[u8] = include_bytes!("../../../fixtures/pdu/http/http-curl-1.seg");
const ACTIVESYNC_BASIC: &[u8] = include_bytes!("../../../fixtures/pdu/http/http-curl-2.seg");
const MAPI_BASIC: &[u8] = include_bytes!("../../../fixtures/pdu/http/http-curl-3.seg");
const RPC_IN: &[u8] = include_bytes!("../../../fixtures/pdu/http/http-curl-4.seg");
const RPC_OUT: &[u8] = include_bytes!("../../../fixtures/pdu/http/http-curl-5.seg");
const PIPELINED: &[u8] = include_bytes!("../../../fixtures/pdu/http/http-curl-6.seg");
const CHUNKED_REQUEST: &[u8] = include_bytes!("../../../fixtures/pdu/http/http-curl-7.seg");
const ALL: [&[u8]; 8] = [
    OWA_NTLM_CHUNKED,
    EWS_NTLM,
    ACTIVESYNC_BASIC,
    MAPI_BASIC,
    RPC_IN,
    RPC_OUT,
    PIPELINED,
    CHUNKED_REQUEST,
];
const MALFORMED: &[u8] = include_bytes!("../../../fixtures/malformed/http-bad-chunks-overlong-header.seg");

fn run(file: &[u8]) -> HttpSummary {
    let mut s = HttpState::new();
    assert_eq!(replay(&mut s, file, usize::MAX, usize::MAX).0, Verdict::Continue);
    s.into_summary()
}

#[test]
fn owa_ntlm_keep_alive_and_chunked_response() {
    let s = run(OWA_NTLM_CHUNKED);
    assert_eq!((s.request_count, s.response_count), (7, 7));
    let st: Vec<_> = s.requests.iter().map(|r| r.status).collect();
    assert_eq!(
        st,
        [
            Some(401),
            Some(401),
            Some(200),
            Some(401),
            Some(401),
            Some(401),
            Some(200)
        ]
    );
    let r = &s.requests[0];
    assert_eq!(
        (r.method.as_str(), r.target.as_str(), r.version.as_str()),
        ("GET", "/owa/", "HTTP/1.1")
    );
    assert_eq!(r.host.as_deref(), Some("127.0.0.1"));
    assert_eq!(r.user_agent.as_deref(), Some("curl/7.88.1"));
    assert_eq!(r.service, Some("owa"));
    assert_eq!(s.services, ["owa"]);
    let a = s.requests[1].authorization.as_ref().unwrap();
    assert_eq!(
        (a.scheme.as_str(), a.ntlmssp_type, a.user.as_deref()),
        ("NTLM", Some(1), None)
    );
    let a = s.requests[2].authorization.as_ref().unwrap();
    assert_eq!((a.ntlmssp_type, a.user.as_deref()), (Some(3), Some("alice")));
    assert_eq!(s.users, ["alice"]);
    assert_eq!(s.auth_schemes, ["NTLM"]);
    assert!(!s.basic_auth_in_cleartext);
    let r = &s.responses[0];
    assert_eq!(
        (r.status, r.reason.as_str(), r.server.as_deref()),
        (401, "Unauthorized", Some("Microsoft-IIS/10.0"))
    );
    assert_eq!(r.www_authenticate, ["Basic", "NTLM"]);
    assert_eq!(r.content_length, Some(19));
    assert_eq!(s.responses[1].ntlmssp_type, Some(2));
    let last = &s.responses[6];
    assert!(last.chunked && last.content_length.is_none());
    assert_eq!(last.content_type.as_deref(), Some("text/html; charset=utf-8"));
    // bodies: 3 × 19 ("401 - Unauthorized\n"), 3 ("ok\n"), and the chunk data
    assert_eq!(s.response_body_bytes, 3 * 19 + 3 + 12 + 720 + 15);
    assert_eq!((s.unknown_lines, s.overlong_lines, s.gaps), (0, 0, 0));
}

#[test]
fn ews_ntlm_post_names_the_user() {
    let s = run(EWS_NTLM);
    assert_eq!(s.services, ["ews"]);
    assert_eq!(s.requests[0].target, "/EWS/Exchange.asmx");
    assert_eq!(s.users, ["EXWATCH\\bob"]);
    assert_eq!(s.requests[1].content_type.as_deref(), Some("text/xml; charset=utf-8"));
    assert!(s.requests[1].content_length.unwrap() > 0);
    assert_eq!(s.request_body_bytes, s.requests[1].content_length.unwrap());
    assert!(!format!("{s:?}").contains("N7lm"));
}

#[test]
fn basic_keeps_the_user_never_the_password() {
    let s = run(ACTIVESYNC_BASIC);
    assert_eq!(s.services, ["activesync"]);
    let a = s.requests[0].authorization.as_ref().unwrap();
    assert_eq!((a.scheme.as_str(), a.user.as_deref()), ("Basic", Some("alice")));
    assert!(s.basic_auth_in_cleartext);
    assert_eq!(s.request_body_bytes, 1);
    assert!(!format!("{s:?}").contains("S3cret"));

    let s = run(MAPI_BASIC);
    assert_eq!(s.services, ["mapi_emsmdb"]);
    assert_eq!(s.requests[0].mapi_request_type.as_deref(), Some("Connect"));
    assert_eq!(s.requests[0].content_type.as_deref(), Some("application/mapi-http"));
}

#[test]
fn rpc_over_http_names_the_backend_port() {
    let s = run(RPC_IN);
    assert_eq!(s.services, ["rpc_over_http"]);
    assert_eq!(s.requests[0].method, "RPC_IN_DATA");
    assert_eq!(s.rpc_backends, [("mail.example.test".to_string(), 6001)]);
    assert_eq!(s.requests[1].rpc_backend, Some(("mail.example.test".to_string(), 6001)));
    assert_eq!(s.users, ["EXWATCH\\bob"]);
    assert_eq!(s.responses[1].content_type.as_deref(), Some("application/rpc"));

    let s = run(RPC_OUT);
    assert_eq!(s.requests[0].method, "RPC_OUT_DATA");
    assert_eq!(s.rpc_backends, [("mail.example.test".to_string(), 6004)]);
}

#[test]
fn pipelined_requests_and_a_head_response_without_body() {
    let s = run(PIPELINED);
    assert_eq!((s.request_count, s.response_count), (4, 4));
    assert_eq!(s.services, ["owa", "autodiscover", "oab", "ecp"]);
    let st: Vec<_> = s.requests.iter().map(|r| r.status).collect();
    assert_eq!(st, [Some(200), Some(200), Some(200), Some(401)]);
    assert_eq!(s.users, ["carol"]);
    assert!(s.basic_auth_in_cleartext);
    // 3 × "ok\n"; the HEAD response's Content-Length is not a body
    assert_eq!(s.response_body_bytes, 9);
    assert!(!format!("{s:?}").contains("Pipe!ined"));
}

#[test]
fn chunked_request_body() {
    let s = run(CHUNKED_REQUEST);
    assert!(s.requests[0].chunked);
    assert_eq!(s.request_body_bytes, 12);
    assert_eq!(s.services, ["autodiscover"]);
    assert_eq!(s.requests[0].status, Some(401));
}

#[test]
fn every_chunking_gives_the_same_summary() {
    for f in ALL {
        let whole = run(f);
        for chunk in [1, 2, 3, 7, 64, 1000] {
            let mut s = HttpState::new();
            replay(&mut s, f, chunk, usize::MAX);
            assert_eq!(s.summary(), &whole, "chunk {chunk}");
        }
    }
}

/// Every prefix of every session: no panic, and no fact the whole session does not have.
#[test]
fn truncation() {
    for f in ALL {
        let whole = run(f);
        for n in 0..=payload_len(f) {
            let mut s = HttpState::new();
            replay(&mut s, f, usize::MAX, n);
            let p = s.summary();
            assert!(p.request_count <= whole.request_count && p.response_count <= whole.response_count);
            assert!(p.services.iter().all(|x| whole.services.contains(x)), "{n}");
            assert!(p.users.iter().all(|x| whole.users.contains(x)), "{n}");
            assert!(p.rpc_backends.iter().all(|x| whole.rpc_backends.contains(x)), "{n}");
            assert!(!p.basic_auth_in_cleartext || whole.basic_auth_in_cleartext);
            for (a, b) in p.requests.iter().zip(&whole.requests) {
                assert_eq!((&a.method, &a.target, a.service), (&b.method, &b.target, b.service));
            }
            assert_eq!(p.unknown_lines, 0, "{n}");
        }
    }
}

#[test]
fn malformed_session_is_bounded_and_stops() {
    let mut s = HttpState::new();
    let (v, _) = replay(&mut s, MALFORMED, 100, usize::MAX);
    assert_eq!(v, Verdict::Stop);
    let sum = s.summary();
    assert!(sum.overlong_lines >= 1 && sum.unknown_lines >= MAX_BAD as u64);
    assert!(s.buffered_bytes() <= 2 * state::MAX_LINE_BYTES + 1024);
    assert_eq!(s.feed(Direction::ToServer, b"GET / HTTP/1.1\r\n", 0), Verdict::Stop);
}
const MAX_BAD: u32 = state::MAX_BAD_LINES;

#[test]
fn gaps_in_a_body_keep_framing_and_gaps_in_a_head_resync() {
    let mut s = HttpState::new();
    s.feed(
        Direction::ToServer,
        b"POST /ews/exchange.asmx HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123",
        0,
    );
    s.gap(Direction::ToServer, 50);
    s.feed(Direction::ToServer, &[b'x'; 46], 0);
    s.feed(Direction::ToServer, b"GET /owa/ HTTP/1.1\r\nHost: a\r\n\r\n", 0);
    assert_eq!(s.summary().request_count, 2);
    assert_eq!(s.summary().request_body_bytes, 100);
    s.feed(Direction::ToServer, b"GET /ecp/ HTTP/1.1\r\nHo", 0);
    s.gap(Direction::ToServer, 10);
    // resync: the tail of a lost line and junk are skipped quietly
    s.feed(Direction::ToServer, b"ader: x\r\n\r\nGET /oab/ HTTP/1.1\r\n\r\n", 0);
    let sum = s.summary();
    assert_eq!(sum.services, ["ews", "owa", "ecp", "oab"]);
    assert_eq!(sum.unknown_lines, 0);
    assert_eq!(sum.gaps, 2);
}

#[test]
fn switching_protocols_and_tls_stop() {
    let mut s = HttpState::new();
    s.feed(
        Direction::ToServer,
        b"GET /owa/ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
        0,
    );
    assert_eq!(
        s.feed(
            Direction::ToClient,
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x00",
            0
        ),
        Verdict::Stop
    );
    assert!(s.summary().switched_protocols);
    let mut s = HttpState::new();
    assert_eq!(s.feed(Direction::ToServer, b"\x16\x03\x01\x00\x10", 0), Verdict::Stop);
}

#[test]
fn probe() {
    use crate::proto::Probe;
    assert_eq!(
        probe_http(
            Direction::ToServer,
            b"RPC_IN_DATA /rpc/rpcproxy.dll?a:6001 HTTP/1.1\r\n"
        ),
        Probe::Yes
    );
    assert_eq!(probe_http(Direction::ToServer, b"GET /owa/ HT"), Probe::NeedMore);
    assert_eq!(probe_http(Direction::ToServer, b"GE"), Probe::NeedMore);
    assert_eq!(probe_http(Direction::ToServer, b"GET / HTTP/2.0\r\n"), Probe::No);
    assert_eq!(probe_http(Direction::ToServer, b"EHLO x\r\n"), Probe::No);
    assert_eq!(probe_http(Direction::ToServer, b"\x16\x03\x01"), Probe::No);
    assert_eq!(probe_http(Direction::ToClient, b"HTTP/1.1 200 OK\r\n"), Probe::Yes);
    assert_eq!(probe_http(Direction::ToClient, b"HTTP/1"), Probe::NeedMore);
    assert_eq!(probe_http(Direction::ToClient, b"HTTP/2 200"), Probe::No);
    assert_eq!(probe_http(Direction::ToClient, b"220 mx ESMTP"), Probe::No);
}
