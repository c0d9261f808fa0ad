//! Tests over real SIP captured from SIPp 3.6 user agents by `fixtures/make-sip-fixtures.sh`
//! (`fixtures/pcap/sip-sipp-*.pcap`), plus hand-written messages for what SIPp does not send
//! (compact headers, folding, Microsoft auth schemes, keep-alives).

use super::parser::{self, StartLine};
use super::*;
use crate::proto::segments::segments;
use crate::proto::{Direction::*, Probe, StreamParser, Verdict};

const UDP: [&[u8]; 6] = [
    include_bytes!("../../../fixtures/pdu/sip/udp-udp-00-c.bin"),
    include_bytes!("../../../fixtures/pdu/sip/udp-udp-01-s.bin"),
    include_bytes!("../../../fixtures/pdu/sip/udp-udp-02-s.bin"),
    include_bytes!("../../../fixtures/pdu/sip/udp-udp-03-c.bin"),
    include_bytes!("../../../fixtures/pdu/sip/udp-udp-04-c.bin"),
    include_bytes!("../../../fixtures/pdu/sip/udp-udp-05-s.bin"),
];
const REGISTER: [&[u8]; 4] = [
    include_bytes!("../../../fixtures/pdu/sip/udp-register-00-c.bin"),
    include_bytes!("../../../fixtures/pdu/sip/udp-register-01-s.bin"),
    include_bytes!("../../../fixtures/pdu/sip/udp-register-02-c.bin"),
    include_bytes!("../../../fixtures/pdu/sip/udp-register-03-s.bin"),
];
const TCP: &[u8] = include_bytes!("../../../fixtures/pdu/sip/sipp-tcp.seg");
const SRTP: &[u8] = include_bytes!("../../../fixtures/pdu/sip/sipp-srtp.seg");
const MALFORMED: &[u8] = include_bytes!("../../../fixtures/malformed/sip-bad-lines-resync.seg");

/// A Lync / Exchange UM style request, written from MS-SIPAE examples: compact headers, a
/// folded Via, NTLM and TLS-DSK credentials, and several Via values on one line.
const LYNC: &[u8] = b"REGISTER sip:contoso.com SIP/2.0\r\n\
v: SIP/2.0/TLS 192.168.0.244:58040,\r\n SIP/2.0/TCP 10.0.0.9:5061;branch=z9hG4bK1\r\n\
Max-Forwards: 70\r\n\
f: \"Alice, UM\" <sip:alice@contoso.com>;tag=8f2c\r\n\
t: <sip:alice@contoso.com>\r\n\
i: 3d4e5f@192.168.0.244\r\n\
CSeq: 3 REGISTER\r\n\
m: <sip:192.168.0.244:58040;transport=tls;ms-opaque=d3470f2e1d>;methods=\"INVITE, MESSAGE\"\r\n\
User-Agent: UCCAPI/16.0.4849.1000 OC/16.0.4849.1000 (Skype for Business)\r\n\
Authorization: NTLM qop=\"auth\", realm=\"SIP Communications Service\", targetname=\"ex1.contoso.com\", gssapi-data=\"TlRMTVNTUAABAAAAt4II4gAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==\", version=4\r\n\
Proxy-Authorization: TLS-DSK qop=\"auth\", realm=\"SIP Communications Service\", opaque=\"8E3E2B3D\", crand=\"3a43d54e\", cnum=\"1\", targetname=\"ex1.contoso.com\", response=\"0c1f57ee8ea0d1a\"\r\n\
k: gruu-10, adhoclist, msrtc-event-categories\r\n\
l: 0\r\n\
\r\n";

fn feed_seg(st: &mut SipState, seg: &[u8]) {
    for (d, p) in segments(seg) {
        assert_ne!(st.feed(d, p, 0), Verdict::Stop);
    }
}

fn stream_of(seg: &[u8]) -> SipSummary {
    let mut st = SipState::new();
    feed_seg(&mut st, seg);
    st.summary().clone()
}

fn udp_of(msgs: &[&[u8]]) -> SipSummary {
    let mut st = SipState::new();
    for (i, m) in msgs.iter().enumerate() {
        st.datagram(if i % 2 == 0 { ToServer } else { ToClient }, m);
    }
    st.summary().clone()
}

/// The INVITE/180/200/ACK/BYE/200 facts tshark reports for the SIPp default scenarios
/// (`fixtures/pcap/sip-sipp-{udp,tcp}.pcap.truth.json`).
fn check_basic_call(s: &SipSummary, via: &str) {
    assert_eq!(s.messages, 6);
    assert_eq!(
        (s.method_count("INVITE"), s.method_count("ACK"), s.method_count("BYE")),
        (1, 1, 1)
    );
    assert_eq!((s.status_count(180), s.status_count(200)), (1, 2));
    assert_eq!(s.via_transports, vec![(via.to_string(), 6)]);
    assert_eq!(s.calls.len(), 1);
    let c = &s.calls[0];
    assert!(c.call_id.ends_with("@127.0.0.2"), "{}", c.call_id);
    assert_eq!(c.from.as_deref(), Some("sip:sipp@127.0.0.2:5070"));
    assert_eq!(c.to.as_deref(), Some("sip:service@127.0.0.1:5060"));
    assert!(c.from_tag.is_some() && c.to_tag.is_some());
    assert_eq!(c.via_transports, vec![via.to_string()]);
    assert!(
        c.via_sent_by.contains(&"127.0.0.2:5070".to_string()),
        "{:?}",
        c.via_sent_by
    );
    assert!(
        c.contacts
            .iter()
            .any(|u| u.starts_with("sip:") && u.contains("127.0.0.2:5070")),
        "{:?}",
        c.contacts
    );
    assert_eq!(s.sdp_media.len(), 2);
    let (offer, answer) = (&s.sdp_media[0], &s.sdp_media[1]);
    assert_eq!(
        (offer.sip.as_str(), offer.port, offer.address.as_deref()),
        ("INVITE", 6100, Some("127.0.0.2"))
    );
    assert_eq!(
        (answer.sip.as_str(), answer.port, answer.address.as_deref()),
        ("200", 6000, Some("127.0.0.1"))
    );
    for m in &s.sdp_media {
        assert_eq!(
            (m.media.as_str(), m.proto.as_str(), m.srtp),
            ("audio", "RTP/AVP", false)
        );
        assert_eq!(m.call_id, c.call_id);
        assert_eq!(m.addr_type, "IP4");
        assert!(m.ip().is_some());
    }
    assert!(s.cleartext);
    assert_eq!(s.parse_errors, 0);
}

#[test]
fn probe_real_messages() {
    for m in UDP.iter().chain(REGISTER.iter()) {
        assert_eq!(probe_sip(m), Probe::Yes);
        for n in 0..40 {
            assert_ne!(probe_sip(&m[..n]), Probe::No, "{n}");
        }
    }
    assert_eq!(probe_sip(LYNC), Probe::Yes);
    assert_eq!(probe_sip(b"\r\n\r\nSIP/2.0 200 OK\r\n"), Probe::Yes);
    assert_eq!(probe_sip(b"SIP/2.0 180\r\n"), Probe::Yes);
    assert_eq!(probe_sip(b"OPTIONS tel:+15551234 SIP/2.0\r\n"), Probe::Yes);
    assert_eq!(probe_sip(b"FOO sips:a@b SIP/2.0\n"), Probe::Yes);
    assert_eq!(probe_sip(b"\r\n\r\n"), Probe::NeedMore);
    assert_eq!(probe_sip(b"GET / HTTP/1.1\r\n"), Probe::No);
    assert_eq!(probe_sip(b"INVITE http://x SIP/2.0\r\n"), Probe::No);
    assert_eq!(probe_sip(b"INVITE sip:x HTTP/1.1\r\n"), Probe::No);
    assert_eq!(probe_sip(b"SIP/2.0 20x OK\r\n"), Probe::No);
    assert_eq!(probe_sip(b"220 mail.example ESMTP\r\n"), Probe::No);
    assert_eq!(probe_sip(&[0x16, 3, 1, 0, 0x40]), Probe::No);
}

#[test]
fn start_lines() {
    let m = parser::parse_sip_head(UDP[0]).unwrap();
    assert_eq!(
        m.start,
        StartLine::Request {
            method: b"INVITE",
            uri: b"sip:service@127.0.0.1:5060"
        }
    );
    let m = parser::parse_sip_head(UDP[1]).unwrap();
    assert_eq!(
        m.start,
        StartLine::Status {
            code: 180,
            reason: b"Ringing"
        }
    );
    assert_eq!(m.head.cseq, Some((1, &b"INVITE"[..])));
}

#[test]
fn udp_call_sipp() {
    check_basic_call(&udp_of(&UDP), "UDP");
    assert!(udp_of(&UDP).udp);
}

#[test]
fn tcp_call_sipp_whole_split_and_bytewise() {
    let whole = stream_of(TCP);
    check_basic_call(&whole, "TCP");
    // the same bytes, one at a time
    let mut st = SipState::new();
    for (d, p) in segments(TCP) {
        for b in p.chunks(1) {
            st.feed(d, b, 0);
        }
    }
    assert_eq!(*st.summary(), whole);
    // each direction in one chunk
    let mut st = SipState::new();
    for dir in [ToServer, ToClient] {
        let all: Vec<u8> = segments(TCP)
            .filter(|(d, _)| *d == dir)
            .flat_map(|(_, p)| p.to_vec())
            .collect();
        st.feed(dir, &all, 0);
    }
    assert_eq!(st.summary().messages, 6);
    assert_eq!(st.summary().sdp_media.len(), 2);
}

#[test]
fn srtp_offer_keeps_suite_never_key() {
    let s = stream_of(SRTP);
    assert_eq!(s.messages, 6);
    let offer = &s.sdp_media[0];
    assert_eq!((offer.proto.as_str(), offer.srtp, offer.port), ("RTP/SAVP", true, 6100));
    assert_eq!(offer.crypto_suites, vec!["AES_CM_128_HMAC_SHA1_80".to_string()]);
    assert_eq!(offer.rtcp_port, Some(6101));
    assert!(!offer.fingerprint);
    assert!(!s.sdp_media[1].srtp);
    assert_eq!(s.calls[0].user_agents, vec!["sipp-exwatch-srtp".to_string()]);
    let dump = format!("{s:?}");
    assert!(
        !dump.contains("inline") && !dump.contains("QUJDREVG"),
        "key material kept"
    );
}

#[test]
fn register_digest_challenge() {
    let s = udp_of(&REGISTER);
    assert_eq!(s.method_count("REGISTER"), 2);
    assert_eq!((s.status_count(401), s.status_count(200)), (1, 1));
    let c = &s.calls[0];
    assert_eq!(c.auth_schemes, vec!["Digest".to_string()]);
    assert_eq!(c.digest_usernames, vec!["alice".to_string()]);
    assert_eq!(c.from.as_deref(), Some("sip:alice@exwatch.test"));
    assert!(c.user_agents.contains(&"sipp-exwatch-registrar".to_string()));
    let dump = format!("{s:?}");
    assert!(
        !dump.contains("40017dfd") && !dump.contains("nonce"),
        "digest secret kept"
    );
}

#[test]
fn compact_headers_folding_and_microsoft_auth() {
    let m = parser::parse_sip_head(LYNC).unwrap();
    let h = &m.head;
    assert_eq!(h.call_id, Some(&b"3d4e5f@192.168.0.244"[..]));
    assert_eq!(h.from.unwrap().uri, b"sip:alice@contoso.com");
    assert_eq!(h.from.unwrap().tag, Some(&b"8f2c"[..]));
    assert_eq!(h.to.unwrap().tag, None);
    assert_eq!(
        h.contact.unwrap().uri,
        b"sip:192.168.0.244:58040;transport=tls;ms-opaque=d3470f2e1d"
    );
    assert_eq!(h.vias[0].unwrap().transport, b"TLS");
    assert_eq!(h.vias[0].unwrap().sent_by, b"192.168.0.244:58040");
    assert_eq!(h.vias[1].unwrap().transport, b"TCP");
    assert_eq!(h.content_length, Some(0));
    assert_eq!(h.bad_lines, 0);
    let mut st = SipState::new();
    st.feed(ToServer, LYNC, 0);
    let c = &st.summary().calls[0];
    assert_eq!(c.auth_schemes, vec!["NTLM".to_string(), "TLS-DSK".to_string()]);
    assert!(c.digest_usernames.is_empty());
    assert_eq!(st.summary().via_transports, vec![("TLS".to_string(), 1)]);
    assert!(!format!("{:?}", st.summary()).contains("gssapi"));
}

#[test]
fn name_addr_forms() {
    let n = parser::parse_name_addr(b"sip:bob@biloxi.com;tag=a6c85cf").unwrap();
    assert_eq!((n.uri, n.tag), (&b"sip:bob@biloxi.com"[..], Some(&b"a6c85cf"[..])));
    let n = parser::parse_name_addr(b"\"A <b>\" <sips:x@y;transport=tcp> ; tag = \"q\"").unwrap();
    assert_eq!((n.uri, n.tag), (&b"sips:x@y;transport=tcp"[..], Some(&b"q"[..])));
    assert!(parser::parse_name_addr(b"<unclosed").is_none());
    assert_eq!(parser::parse_cseq(b"4711 INVITE"), Some((4711, &b"INVITE"[..])));
    assert_eq!(parser::parse_cseq(b"99999999999 INVITE"), None);
    assert_eq!(
        parser::parse_via(b"SIP / 2.0 / UDP  h:5060 ;branch=1")
            .unwrap()
            .transport,
        b"UDP"
    );
}

#[test]
fn sdp_session_and_media_level() {
    let body = b"v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\na=fingerprint:sha-256 AB:CD\r\nt=0 0\r\n\
m=audio 49170/2 UDP/TLS/RTP/SAVP 0 101\r\na=rtcp:49300 IN IP6 2001:db8::2\r\n\
m=video 0 RTP/AVP 31\r\nc=IN IP4 224.2.1.1/127/3\r\nbogus line\r\n";
    let mut got = Vec::new();
    let bad = parser::parse_sdp(body, |d| got.push(*d));
    assert_eq!(bad, 1);
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].port, got[0].port_count, got[0].proto),
        (49170, 2, &b"UDP/TLS/RTP/SAVP"[..])
    );
    assert_eq!(
        (got[0].address, got[0].addr_type),
        (Some(&b"2001:db8::1"[..]), &b"IP6"[..])
    );
    assert_eq!((got[0].rtcp_port, got[0].fingerprint), (Some(49300), true));
    assert_eq!(got[0].formats, b"0 101");
    assert_eq!((got[1].port, got[1].address), (0, Some(&b"224.2.1.1"[..])));
    assert!(parser::proto_is_srtp(got[0].proto) && !parser::proto_is_srtp(got[1].proto));
}

#[test]
fn keepalives_and_pipelined_messages() {
    let mut buf = b"\r\n\r\n".to_vec();
    buf.extend_from_slice(LYNC);
    buf.extend_from_slice(b"\r\n\r\n");
    buf.extend_from_slice(LYNC);
    let mut st = SipState::new();
    st.feed(ToServer, &buf, 0);
    let s = st.summary();
    assert_eq!((s.messages, s.keepalives, s.parse_errors), (2, 2, 0));
    assert_eq!(s.calls[0].methods, vec![("REGISTER".to_string(), 2)]);
}

#[test]
fn malformed_session_resyncs() {
    let mut st = SipState::new();
    feed_seg(&mut st, MALFORMED);
    let s = st.summary();
    assert!(s.parse_errors >= 3, "{s:?}");
    assert_eq!(s.method_count("OPTIONS"), 1, "{s:?}");
    assert!(s.calls.iter().any(|c| c.call_id == "good-1"));
    assert_eq!(s.method_count("INFO"), 1);
    // the 4 GiB body is skipped by length: nothing buffered, the skip is pending
    let d = &st.dirs[0];
    assert!(d.buf.is_empty() && d.skip > 4_000_000_000);
    assert!(!s.calls.iter().any(|c| c.call_id == "bad-3"));
}

#[test]
fn big_non_sdp_body_is_not_buffered() {
    let head = b"MESSAGE sip:a@b SIP/2.0\r\nCall-ID: m1\r\nContent-Type: text/plain\r\nContent-Length: 1000000\r\n\r\n";
    let mut st = SipState::new();
    st.feed(ToServer, head, 0);
    let chunk = vec![b'x'; 10_000];
    for _ in 0..100 {
        st.feed(ToServer, &chunk, 0);
        assert!(st.dirs[0].buf.capacity() < MAX_BUFFER_BYTES);
    }
    st.feed(ToServer, LYNC, 0);
    assert_eq!(st.summary().messages, 2);
    assert_eq!(st.summary().bodies_skipped, 1);
}

#[test]
fn gap_then_resync() {
    let segs: Vec<_> = segments(TCP).collect();
    let mut st = SipState::new();
    let (d0, p0) = segs[0];
    st.feed(d0, &p0[..100], 0);
    st.gap(d0, (p0.len() - 100) as u64);
    for &(d, p) in &segs[1..] {
        st.feed(d, p, 0);
    }
    let s = st.summary();
    assert_eq!(s.method_count("INVITE"), 0);
    assert_eq!((s.method_count("ACK"), s.method_count("BYE")), (1, 1));
    assert_eq!(s.gaps, 1);
    // a gap inside a skipped body only shortens the skip
    let mut st = SipState::new();
    st.feed(
        ToServer,
        b"INFO sip:a@b SIP/2.0\r\nContent-Length: 50\r\n\r\n0123456789",
        0,
    );
    st.gap(ToServer, 40);
    st.feed(ToServer, LYNC, 0);
    assert_eq!(st.summary().messages, 2);
}

#[test]
fn garbage_stream_stops() {
    let junk = vec![0xAAu8; 4096];
    let mut st = SipState::new();
    let mut v = Verdict::Continue;
    for _ in 0..(MAX_GARBAGE_BYTES as usize / junk.len() + 2) {
        v = st.feed(ToServer, &junk, 0);
        st.feed(ToClient, &junk, 0);
    }
    assert_eq!(st.summary().parse_errors, 2);
    v = if v == Verdict::Stop {
        v
    } else {
        st.feed(ToClient, &junk, 0)
    };
    assert_eq!(v, Verdict::Stop);
}

/// Every prefix of every session and datagram: no panic, and never a fact the whole lacks.
#[test]
fn truncation_prefixes() {
    for seg in [TCP, SRTP] {
        let full = stream_of(seg);
        let flat: Vec<(Direction, u8)> = segments(seg)
            .flat_map(|(d, p)| p.iter().map(move |&b| (d, b)))
            .collect();
        for n in 0..flat.len() {
            let mut st = SipState::new();
            for &(d, b) in &flat[..n] {
                st.feed(d, &[b], 0);
            }
            subset(st.summary(), &full);
        }
    }
    for m in UDP.iter().chain(REGISTER.iter()).chain([&LYNC]) {
        let mut whole = SipState::new();
        whole.datagram(ToServer, m);
        for n in 0..m.len() {
            let mut st = SipState::new();
            st.datagram(ToServer, &m[..n]);
            let _ = probe_sip(&m[..n]);
            let _ = parser::parse_sip_head(&m[..n]);
            let s = st.summary();
            assert!(s.messages <= 1);
            assert!(s.sdp_media.len() <= whole.summary().sdp_media.len());
            for c in &s.calls {
                assert!(whole.summary().calls.iter().any(|w| w.call_id.starts_with(&c.call_id)));
            }
        }
    }
}

fn subset(p: &SipSummary, full: &SipSummary) {
    assert!(p.messages <= full.messages);
    for (m, n) in &p.methods {
        assert!(full.method_count(m) >= *n, "{m}");
    }
    for (c, n) in &p.status_codes {
        assert!(full.status_count(*c) >= *n, "{c}");
    }
    assert!(p.sdp_media.len() <= full.sdp_media.len());
    assert_eq!(p.sdp_media[..], full.sdp_media[..p.sdp_media.len()]);
    for c in &p.calls {
        let f = full.calls.iter().find(|f| f.call_id == c.call_id).expect("call");
        assert_eq!((&c.from, &c.to), (&f.from, &f.to));
        assert!(c.auth_schemes.iter().all(|a| f.auth_schemes.contains(a)));
    }
    assert_eq!(p.parse_errors, 0);
}

/// A head just under the limit, one byte per feed: the framer waits for the empty line instead
/// of re-reading the head on every byte (quadratic otherwise).
#[test]
fn long_head_bytewise_is_linear() {
    let mut msg = b"NOTIFY sip:a@b SIP/2.0\r\nCall-ID: long\r\n".to_vec();
    while msg.len() < MAX_HEAD_BYTES - 100 {
        msg.extend_from_slice(b"X:\n");
    }
    msg.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    let t = std::time::Instant::now();
    let mut st = SipState::new();
    for b in msg.chunks(1) {
        st.feed(ToServer, b, 0);
    }
    assert_eq!(st.summary().messages, 1);
    assert!(t.elapsed().as_secs() < 5, "{:?}", t.elapsed());
    // one byte more than the limit: a parse error, then the next message is found
    let mut big = b"NOTIFY sip:a@b SIP/2.0\r\n".to_vec();
    big.resize(MAX_HEAD_BYTES + 10, b'x');
    big.extend_from_slice(b"\r\n\r\n");
    big.extend_from_slice(LYNC);
    let mut st = SipState::new();
    for c in big.chunks(1000) {
        st.feed(ToServer, c, 0);
    }
    assert_eq!((st.summary().messages, st.summary().parse_errors), (1, 1));
}
