//! Tests over real PDUs captured between impacket (client) and `fixtures/tools/dcerpc_peer.py`
//! by `fixtures/make-dcerpc-fixtures.sh` (`fixtures/pcap/dcerpc-impacket.pcap`).

use super::parser::*;
use super::*;
use crate::proto::segments::segments;
use crate::proto::{Direction::*, Probe, StreamParser};

const EPM_BIND: &[u8] = include_bytes!("../../../fixtures/pdu/dcerpc/epm-bind.bin");
const EPM_BIND_ACK: &[u8] = include_bytes!("../../../fixtures/pdu/dcerpc/epm-bind-ack.bin");
const MAP_REQ: &[u8] = include_bytes!("../../../fixtures/pdu/dcerpc/ept-map-request.bin");
const MAP_RESP: &[u8] = include_bytes!("../../../fixtures/pdu/dcerpc/ept-map-response.bin");
const NTLM_BIND: &[u8] = include_bytes!("../../../fixtures/pdu/dcerpc/ntlm-bind.bin");
const NTLM_BIND_ACK: &[u8] = include_bytes!("../../../fixtures/pdu/dcerpc/ntlm-bind-ack.bin");
const AUTH3: &[u8] = include_bytes!("../../../fixtures/pdu/dcerpc/ntlm-auth3.bin");
const FIRST_FRAG: &[u8] = include_bytes!("../../../fixtures/pdu/dcerpc/request-first-frag.bin");
const SEG_EPM: &[u8] = include_bytes!("../../../fixtures/pdu/dcerpc/epm-ept-map.seg");
const SEG_INTEGRITY: &[u8] = include_bytes!("../../../fixtures/pdu/dcerpc/ntlm-integrity-fragmented.seg");
const SEG_PRIVACY: &[u8] = include_bytes!("../../../fixtures/pdu/dcerpc/ntlm-privacy.seg");
const MALFORMED: &[u8] = include_bytes!("../../../fixtures/malformed/dcerpc-bind-context-count-lies.bin");

const ALL_PDUS: [&[u8]; 8] = [
    EPM_BIND,
    EPM_BIND_ACK,
    MAP_REQ,
    MAP_RESP,
    NTLM_BIND,
    NTLM_BIND_ACK,
    AUTH3,
    FIRST_FRAG,
];
const ALL_SEGS: [&[u8]; 3] = [SEG_EPM, SEG_INTEGRITY, SEG_PRIVACY];

fn replay(seg: &[u8]) -> DcerpcState {
    let mut st = DcerpcState::new();
    for (dir, data) in segments(seg) {
        st.feed(dir, data, 0);
    }
    st
}

#[test]
fn probe_real_pdus() {
    for p in ALL_PDUS {
        assert_eq!(probe_dcerpc(p), Probe::Yes);
    }
    assert_eq!(probe_dcerpc(&EPM_BIND[..3]), Probe::NeedMore);
    assert_eq!(probe_dcerpc(&EPM_BIND[..12]), Probe::NeedMore);
    assert_eq!(probe_dcerpc(b"GET / HTTP/1.1\r\n"), Probe::No);
    assert_eq!(probe_dcerpc(&[0x30, 0x0c, 0x02, 0x01, 0x01, 0x60]), Probe::No);
    // connectionless (version 4) is not this parser's
    assert_eq!(
        probe_dcerpc(&[4, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        Probe::No
    );
}

#[test]
fn header_of_the_epm_bind() {
    let h = parse_header(EPM_BIND).unwrap();
    assert_eq!((h.rpc_vers, h.rpc_vers_minor, h.ptype), (5, 0, ptype::BIND));
    assert!(h.little_endian() && h.first_frag() && h.last_frag());
    assert_eq!(h.frag_length as usize, EPM_BIND.len());
    assert_eq!(h.auth_length, 0);
    assert_eq!(h.call_id, 1);
}

#[test]
fn bind_contexts_and_ack() {
    let p = parse_pdu(EPM_BIND).unwrap();
    let b = parse_bind(p.body, true).unwrap();
    assert_eq!(b.n_context_elem, 1);
    let ctx: Vec<_> = b.collect();
    assert_eq!(ctx.len(), 1);
    assert_eq!(ctx[0].abstract_syntax.uuid, interfaces::EPM);
    assert_eq!((ctx[0].abstract_syntax.major, ctx[0].abstract_syntax.minor), (3, 0));
    let ts: Vec<_> = ctx[0].transfer_syntaxes().collect();
    assert_eq!(ts.len(), 1);
    assert_eq!(interfaces::transfer_name(&ts[0]), Some("NDR32"));

    let p = parse_pdu(EPM_BIND_ACK).unwrap();
    let a = parse_bind_ack(p.body, true).unwrap();
    assert_eq!(a.sec_addr, b"135\0");
    let r: Vec<_> = a.collect();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].result, 0);
    assert_eq!(ack_result_name(r[0].result), "acceptance");
}

#[test]
fn ntlm_bind_has_a_sec_trailer() {
    let p = parse_pdu(NTLM_BIND).unwrap();
    let a = p.auth.unwrap();
    assert_eq!(a.auth_type, AUTH_NTLMSSP);
    assert_eq!(a.auth_level, AUTH_LEVEL_INTEGRITY);
    assert_eq!(a.value.len(), p.hdr.auth_length as usize);
    assert!(a.value.starts_with(b"NTLMSSP\0"));
    let ctx: Vec<_> = parse_bind(p.body, true).unwrap().collect();
    assert_eq!(interfaces::interface_name(&ctx[0].abstract_syntax.uuid), Some("EMSMDB"));
    assert_eq!((ctx[0].abstract_syntax.major, ctx[0].abstract_syntax.minor), (0, 81));
}

#[test]
fn ept_map_request_and_response() {
    let p = parse_pdu(MAP_REQ).unwrap();
    let q = parse_request(p.body, &p.hdr).unwrap();
    assert_eq!((q.p_cont_id, q.opnum), (0, 3));
    let t = parse_ept_map_request(q.stub, true, false).unwrap();
    let i = t.interface.unwrap();
    assert_eq!(i.uuid.to_string(), "a4f1db00-ca47-1067-b31f-00dd010662da");
    assert_eq!(interfaces::transfer_name(&t.transfer.unwrap()), Some("NDR32"));

    let p = parse_pdu(MAP_RESP).unwrap();
    let r = parse_response(p.body, true).unwrap();
    let ans = parse_ept_map_response(r.stub, true, false).unwrap();
    assert_eq!(ans.status, Some(0));
    assert_eq!(ans.entries.len(), 1);
    let t = ans.entries[0].tower;
    assert_eq!(t.tcp_port, Some(49701));
    assert_eq!(t.ipv4, Some([127, 0, 0, 1]));
    assert_eq!(t.rpc_protocol, Some(0x0b));
    assert_eq!(t.transport(), "ncacn_ip_tcp");
    assert_eq!(t.interface.unwrap().uuid, i.uuid);
}

#[test]
fn epm_session_announces_the_endpoint() {
    let st = replay(SEG_EPM);
    let s = st.summary();
    assert_eq!(s.count(ptype::BIND), 1);
    assert_eq!(s.count(ptype::BIND_ACK), 1);
    assert_eq!(s.count(ptype::REQUEST), 1);
    assert_eq!(s.count(ptype::RESPONSE), 1);
    assert_eq!(s.parse_errors, 0);
    assert_eq!(s.binds.len(), 1);
    assert_eq!(s.binds[0].contexts[0].name, Some("EPM"));
    assert_eq!(s.binds[0].contexts[0].ack.map(|a| a.0), Some(0));
    assert_eq!(s.binds[0].answer, Some("bind_ack"));
    assert_eq!(s.epm_queries.len(), 1);
    assert_eq!(s.epm_endpoints.len(), 1);
    let e = &s.epm_endpoints[0];
    assert_eq!(e.name, Some("EMSMDB"));
    assert_eq!(e.version, (0, 81));
    assert_eq!(e.port, Some(49701));
    assert_eq!(e.ip, Some(std::net::Ipv4Addr::new(127, 0, 0, 1)));
    assert_eq!((e.transport, e.op), ("ncacn_ip_tcp", "ept_map"));
    assert_eq!(s.calls.len(), 1);
    assert_eq!((s.calls[0].name, s.calls[0].opnum), (Some("EPM"), 3));
    assert_eq!((s.calls[0].requests, s.calls[0].responses), (1, 1));
    assert_eq!(s.authenticated_pdus, 0);
    assert_eq!(s.encryption(), "none");
}

#[test]
fn ntlm_integrity_with_a_fragmented_request() {
    let st = replay(SEG_INTEGRITY);
    let s = st.summary();
    assert_eq!(s.parse_errors, 0);
    assert_eq!(s.count(ptype::AUTH3), 1);
    assert_eq!(s.count(ptype::REQUEST), 3);
    assert_eq!(s.fragmented_calls, 1);
    assert_eq!(s.fragments, 3);
    assert_eq!(s.calls[0].requests, 1);
    assert_eq!(s.calls[0].responses, 1);
    assert_eq!(s.calls[0].name, Some("EMSMDB"));
    assert_eq!(s.ntlm.message_types, vec![1, 2, 3]);
    assert_eq!(s.ntlm.user.as_deref(), Some("alice"));
    assert_eq!(s.ntlm.domain.as_deref(), Some("EXWATCH"));
    assert!(s.ntlm.sign);
    assert_eq!(s.lowest_auth_level, Some(AUTH_LEVEL_INTEGRITY));
    assert_eq!(s.highest_auth_level, Some(AUTH_LEVEL_INTEGRITY));
    assert_eq!(s.authenticated_pdus, 7);
    assert!(s.integrity());
    assert_eq!(s.encryption(), "none");
    assert_eq!(s.auth.len(), 1);
    assert_eq!((s.auth[0].auth_type, s.auth[0].pdus), (AUTH_NTLMSSP, 7));
}

#[test]
fn ntlm_privacy_is_rpc_privacy() {
    let st = replay(SEG_PRIVACY);
    let s = st.summary();
    assert_eq!(s.parse_errors, 0);
    assert_eq!(s.authenticated_pdus, 5);
    assert_eq!(s.privacy_pdus, 5);
    assert!(!s.integrity());
    assert_eq!(s.encryption(), "rpc-privacy");
    assert_eq!(s.ntlm.user.as_deref(), Some("alice"));
}

#[test]
fn byte_at_a_time_equals_whole() {
    for seg in ALL_SEGS {
        let whole = replay(seg);
        let mut st = DcerpcState::new();
        for (dir, data) in segments(seg) {
            for b in data.chunks(1) {
                st.feed(dir, b, 0);
            }
        }
        assert_eq!(st.summary(), whole.summary());
    }
}

/// Every prefix of every PDU and segment file: no panic, and nothing reported from a PDU that
/// was not complete.
#[test]
fn truncation_every_prefix() {
    for p in ALL_PDUS {
        for n in 0..p.len() {
            let cut = &p[..n];
            let _ = probe_dcerpc(cut);
            assert!(parse_pdu(cut).is_err(), "prefix {n} parsed as a whole PDU");
            let mut st = DcerpcState::new();
            st.feed(ToServer, cut, 0);
            let s = st.summary();
            assert_eq!(s.pdu_counts.iter().sum::<u64>(), 0);
            assert!(s.binds.is_empty() && s.epm_endpoints.is_empty() && s.ntlm.user.is_none());
        }
    }
    for seg in ALL_SEGS {
        let whole = replay(seg);
        for n in 0..seg.len() {
            let st = replay(&seg[..n]);
            let s = st.summary();
            assert!(
                s.epm_endpoints
                    .iter()
                    .all(|e| whole.summary().epm_endpoints.contains(e))
            );
            assert!(s.ntlm.user.is_none() || s.ntlm.user == whole.summary().ntlm.user);
            assert!(s.binds.len() <= whole.summary().binds.len());
            assert_eq!(s.parse_errors, 0);
        }
    }
}

#[test]
fn malformed_fixture_is_counted_not_trusted() {
    // bind claiming 200 presentation contexts in a 72-byte PDU
    let mut st = DcerpcState::new();
    st.feed(ToServer, MALFORMED, 0);
    let s = st.summary();
    assert_eq!(s.count(ptype::BIND), 1);
    assert_eq!(s.parse_errors, 1);
    assert!(s.binds[0].contexts.len() <= 1);
}

#[test]
fn garbage_then_a_pdu_resyncs() {
    let mut st = DcerpcState::new();
    st.feed(ToServer, b"\x00\x01garbage bytes", 0);
    st.feed(ToServer, EPM_BIND, 0);
    let s = st.summary();
    assert!(s.parse_errors >= 1);
    assert_eq!(s.count(ptype::BIND), 1);
}

#[test]
fn gap_drops_the_partial_pdu_and_resyncs() {
    let mut st = DcerpcState::new();
    st.feed(ToServer, &NTLM_BIND[..40], 0);
    st.gap(ToServer, 72);
    st.feed(ToServer, &EPM_BIND[30..], 0);
    st.feed(ToServer, EPM_BIND, 0);
    let s = st.summary();
    assert_eq!(s.gaps, 1);
    assert_eq!(s.count(ptype::BIND), 1);
    assert_eq!(s.binds[0].contexts[0].name, Some("EPM"));
}

/// Random mutations of the real sessions with a fixed seed (a quick stand-in for the
/// `dcerpc_stream` fuzz target in CI, which has no nightly toolchain).
#[test]
fn mutations_do_not_panic() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..3000 {
        let seg = ALL_SEGS[round % ALL_SEGS.len()];
        let mut m = seg.to_vec();
        for _ in 0..(1 + rnd() % 8) {
            let i = (rnd() as usize) % m.len();
            m[i] = rnd() as u8;
        }
        let mut st = DcerpcState::new();
        for (i, (dir, data)) in segments(&m).enumerate() {
            if rnd() % 17 == 0 {
                st.gap(dir, data.len() as u64);
                continue;
            }
            let step = 1 + (rnd() as usize % 64);
            for c in data.chunks(step) {
                st.feed(dir, c, i as u64);
            }
        }
        let s = st.summary();
        assert!(s.binds.len() <= MAX_BINDS && s.epm_endpoints.len() <= MAX_EPM_ENDPOINTS);
    }
}

/// Found by `dcerpc_stream`: a header that turns out invalid only once its second byte
/// arrives in a later chunk is counted at once, as it is when both bytes come together.
#[test]
fn invalid_header_split_across_chunks() {
    let mut whole = DcerpcState::new();
    whole.feed(ToServer, &[5, 3], 0);
    let mut split = DcerpcState::new();
    split.feed(ToServer, &[5], 0);
    split.feed(ToServer, &[3], 0);
    assert_eq!(whole.summary().parse_errors, 1);
    assert_eq!(split.summary(), whole.summary());
}
