//! Tests over real PDUs captured from OpenLDAP slapd 2.5 and ldap-utils by
//! `fixtures/make-ldap-fixtures.sh` (`fixtures/pcap/ldap-slapd.pcap`).

use super::*;
use crate::proto::{Direction::*, Probe, StreamParser, Verdict};

const BIND_SIMPLE: &[u8] = include_bytes!("../../../fixtures/pdu/ldap/bind_request_simple.bin");
const BIND_OK: &[u8] = include_bytes!("../../../fixtures/pdu/ldap/bind_response_success.bin");
const BIND_49: &[u8] = include_bytes!("../../../fixtures/pdu/ldap/bind_response_invalid_credentials.bin");
const BIND_DIGEST: &[u8] = include_bytes!("../../../fixtures/pdu/ldap/bind_request_sasl_digest_md5.bin");
const BIND_14: &[u8] = include_bytes!("../../../fixtures/pdu/ldap/bind_response_sasl_in_progress.bin");
const SEARCH_AND: &[u8] = include_bytes!("../../../fixtures/pdu/ldap/search_request_and_filter.bin");
const SEARCH_ANON: &[u8] = include_bytes!("../../../fixtures/pdu/ldap/search_request_anon.bin");
const EXT_STARTTLS: &[u8] = include_bytes!("../../../fixtures/pdu/ldap/extended_request_starttls.bin");
const EXT_RESP: &[u8] = include_bytes!("../../../fixtures/pdu/ldap/extended_response_starttls.bin");
const S1_C: &[u8] = include_bytes!("../../../fixtures/pdu/ldap/stream1_to_server.bin");
const S1_S: &[u8] = include_bytes!("../../../fixtures/pdu/ldap/stream1_to_client.bin");
const DIGEST_SESSION: &[u8] = include_bytes!("../../../fixtures/pdu/ldap/digest-md5-sealed.seg");
const S2_S: &[u8] = include_bytes!("../../../fixtures/pdu/ldap/stream2_to_client.bin");
const MALFORMED: [&[u8]; 4] = [
    include_bytes!("../../../fixtures/malformed/ldap-length-overflow.bin"),
    include_bytes!("../../../fixtures/malformed/ldap-nested-beyond-parent.bin"),
    include_bytes!("../../../fixtures/malformed/ldap-indefinite-length.bin"),
    include_bytes!("../../../fixtures/malformed/ldap-huge-length-of-length.bin"),
];

fn feed_all(st: &mut LdapState, dir: Direction, data: &[u8]) -> Verdict {
    st.feed(dir, data, 0)
}

#[test]
fn probe_real_pdus() {
    for p in [BIND_SIMPLE, BIND_OK, SEARCH_AND, EXT_STARTTLS, EXT_RESP, BIND_DIGEST] {
        assert_eq!(probe_ldap(p), Probe::Yes);
    }
    assert_eq!(probe_ldap(&BIND_SIMPLE[..1]), Probe::NeedMore);
    assert_eq!(probe_ldap(&BIND_SIMPLE[..4]), Probe::NeedMore);
    assert_eq!(probe_ldap(b"GET / HTTP/1.1\r\n"), Probe::No);
    assert_eq!(probe_ldap(&[0x16, 0x03, 0x01, 0x02, 0x00]), Probe::No);
}

#[test]
fn simple_bind_and_search() {
    let mut st = LdapState::new();
    assert_eq!(feed_all(&mut st, ToServer, S1_C), Verdict::Continue);
    assert_eq!(feed_all(&mut st, ToClient, S1_S), Verdict::Continue);
    let s = st.summary();
    assert_eq!(s.binds.len(), 1);
    let b = &s.binds[0];
    assert_eq!(b.name, "cn=admin,dc=exwatch,dc=test");
    assert_eq!((b.version, b.auth.as_str()), (3, "simple"));
    assert!(b.password_present);
    assert_eq!(b.password_len, 6);
    assert_eq!(b.result_code, Some(0));
    assert!(s.simple_bind_in_cleartext);
    let q = &s.searches[0];
    assert_eq!(q.base, "ou=people,dc=exwatch,dc=test");
    assert_eq!(q.scope, 1);
    assert_eq!(q.filter, "(&(objectClass=inetOrgPerson)(uid=ali*))");
    assert_eq!(q.attributes, ["cn", "mail"]);
    assert_eq!((q.entries, q.done, q.result_code), (1, true, Some(0)));
    assert_eq!(s.parse_errors, 0);
    assert_eq!(s.encryption(), "none");
    let ops: Vec<_> = s.ops.iter().map(|(n, c)| (*n, *c)).collect();
    assert!(ops.contains(&("bindRequest", 1)) && ops.contains(&("searchResEntry", 1)));
}

#[test]
fn anonymous_search_filter() {
    let mut st = LdapState::new();
    st.feed(ToServer, SEARCH_ANON, 0);
    let q = &st.summary().searches[0];
    assert_eq!(
        (q.base.as_str(), q.scope, q.filter.as_str()),
        ("dc=exwatch,dc=test", 2, "(objectClass=*)")
    );
}

#[test]
fn failing_bind_and_sasl_mechanism() {
    let mut st = LdapState::new();
    st.feed(ToServer, BIND_SIMPLE, 0);
    st.feed(ToClient, BIND_49, 0);
    assert_eq!(st.summary().binds[0].result_code, Some(49));
    assert_eq!(result_name(49), Some("invalidCredentials"));
    let mut st = LdapState::new();
    st.feed(ToServer, BIND_DIGEST, 0);
    st.feed(ToClient, BIND_14, 0);
    let b = &st.summary().binds[0];
    assert_eq!(
        (b.auth.as_str(), b.sasl_mechanism.as_deref()),
        ("sasl", Some("DIGEST-MD5"))
    );
    assert_eq!(b.result_code, Some(14));
    assert!(!b.password_present);
}

#[test]
fn starttls_offset() {
    let mut st = LdapState::new();
    assert_eq!(st.feed(ToServer, EXT_STARTTLS, 0), Verdict::Continue);
    // the server's direction: the extendedResponse, then the TLS ServerHello in the same feed
    let v = st.feed(ToClient, S2_S, 0);
    assert_eq!(v, Verdict::StartTls { at: EXT_RESP.len() });
    assert_eq!(S2_S[EXT_RESP.len()], 0x16);
    let s = st.summary();
    assert!(s.starttls_requested && s.starttls_accepted);
    assert_eq!(s.extended[0].oid, STARTTLS_OID);
    assert_eq!(s.extended[0].name, Some("StartTLS"));
    assert_eq!(s.extended[0].result_code, Some(0));
    // 1-byte feeding finds the same offset within the byte that ends the response
    let mut st = LdapState::new();
    st.feed(ToServer, EXT_STARTTLS, 0);
    let mut at = None;
    for (i, b) in S2_S.iter().enumerate() {
        if let Verdict::StartTls { at: a } = st.feed(ToClient, std::slice::from_ref(b), 0) {
            at = Some((i, a));
            break;
        }
    }
    assert_eq!(at, Some((EXT_RESP.len() - 1, 1)));
}

#[test]
fn split_feeding_matches_one_chunk() {
    let mut one = LdapState::new();
    one.feed(ToServer, S1_C, 0);
    one.feed(ToClient, S1_S, 0);
    let mut split = LdapState::new();
    for b in S1_C {
        split.feed(ToServer, std::slice::from_ref(b), 0);
    }
    for b in S1_S {
        split.feed(ToClient, std::slice::from_ref(b), 0);
    }
    assert_eq!(one.summary().binds, split.summary().binds);
    assert_eq!(one.summary().searches, split.summary().searches);
    assert_eq!(one.summary().ops, split.summary().ops);
}

#[test]
fn every_prefix_is_safe() {
    for pdu in [BIND_SIMPLE, SEARCH_AND, BIND_DIGEST, BIND_14, EXT_STARTTLS, S1_C, S1_S] {
        for n in 0..pdu.len() {
            let p = &pdu[..n];
            let _ = probe_ldap(p);
            assert!(matches!(ber::read_tlv(p), Err(ber::BerError::Incomplete(_)) | Ok(_)));
            let mut st = LdapState::new();
            assert_eq!(st.feed(ToServer, p, 0), Verdict::Continue);
            st.datagram(ToServer, p);
            assert!(!st.summary().sealed);
        }
        // a strict prefix of a single PDU yields no facts
        if pdu.len() < 120 {
            let mut st = LdapState::new();
            st.feed(ToServer, &pdu[..pdu.len() - 1], 0);
            assert!(st.summary().ops.is_empty());
        }
    }
}

#[test]
fn malformed_fixtures() {
    for m in MALFORMED {
        let mut st = LdapState::new();
        let _ = probe_ldap(m);
        st.feed(ToServer, m, 0);
        st.feed(ToServer, m, 0);
        st.datagram(ToClient, m);
        assert!(st.dirs[0].buf.len() <= MAX_PDU_BYTES);
        assert!(st.summary().binds.is_empty());
    }
    // the 4 GiB PDU is skipped by length, not buffered
    let mut st = LdapState::new();
    st.feed(ToServer, MALFORMED[0], 0);
    assert_eq!(st.summary().oversize_pdus, 1);
    assert!(st.dirs[0].buf.is_empty());
}

#[test]
fn gap_resyncs_on_next_message() {
    let mut st = LdapState::new();
    st.feed(ToServer, &S1_C[..10], 0);
    st.gap(ToServer, 100);
    // garbage, then a whole search request
    let mut data = vec![0xde, 0xad, 0xbe, 0xef];
    data.extend_from_slice(SEARCH_AND);
    st.feed(ToServer, &data, 0);
    let s = st.summary();
    assert!(s.binds.is_empty());
    assert_eq!(s.searches.len(), 1);
    assert_eq!(s.searches[0].base, "ou=people,dc=exwatch,dc=test");
}

#[test]
fn sasl_wrapped_pdus_after_successful_bind() {
    let mut st = LdapState::new();
    st.feed(ToServer, BIND_DIGEST, 0);
    // bindResponse(1) success, as slapd sends it (messageID 1)
    st.feed(ToClient, BIND_OK, 0);
    // security-layer buffers: 4-byte length + opaque token, split across feeds
    let mut w = vec![0, 0, 0, 20];
    w.extend_from_slice(&[0xab; 20]);
    st.feed(ToServer, &w[..3], 0);
    st.feed(ToServer, &w[3..], 0);
    st.feed(ToClient, &w, 0);
    let s = st.summary();
    assert_eq!(s.sasl_wrapped_pdus, 2);
    assert!(s.sealed);
    assert_eq!(s.encryption(), "ldap-sasl-seal");
    assert_eq!(s.parse_errors, 0);
}

/// The real thing: slapd and ldapsearch with SASL DIGEST-MD5 at qop auth-conf (`-O minssf=56`),
/// in capture order. After the second bindResponse (success) the search, its entry and done,
/// and the unbind travel wrapped.
#[test]
fn digest_md5_session_is_sealed() {
    let mut st = LdapState::new();
    for (dir, data) in crate::proto::segments::segments(DIGEST_SESSION) {
        assert_eq!(st.feed(dir, data, 0), Verdict::Continue);
    }
    let s = st.summary();
    let binds: Vec<_> = s
        .binds
        .iter()
        .map(|b| (b.sasl_mechanism.as_deref(), b.result_code))
        .collect();
    assert_eq!(binds, [(Some("DIGEST-MD5"), Some(14)), (Some("DIGEST-MD5"), Some(0))]);
    assert_eq!(s.sasl_wrapped_pdus, 4);
    assert!(s.sealed);
    assert_eq!(s.encryption(), "ldap-sasl-seal");
    assert_eq!(s.parse_errors, 0);
    assert!(
        s.searches.is_empty(),
        "the search is sealed: its base must not be readable"
    );
}

#[test]
fn cldap_ping() {
    // MS-ADTS §6.3.3 LDAP ping as a Windows client sends it: rootDSE search,
    // (&(DnsDomain=exwatch.test)(Host=WS1)(NtVer=\x06\x00\x00\x00)), attribute Netlogon.
    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag, body.len() as u8];
        v.extend_from_slice(body);
        v
    }
    let eq = |a: &[u8], v: &[u8]| tlv(0xa3, &[tlv(0x04, a), tlv(0x04, v)].concat());
    let filter = tlv(
        0xa0,
        &[
            eq(b"DnsDomain", b"exwatch.test"),
            eq(b"Host", b"WS1"),
            eq(b"NtVer", &[6, 0, 0, 0]),
        ]
        .concat(),
    );
    let search = tlv(
        0x63,
        &[
            tlv(0x04, b""),
            tlv(0x0a, &[0]),
            tlv(0x0a, &[0]),
            tlv(0x02, &[0]),
            tlv(0x02, &[0]),
            tlv(0x01, &[0]),
            filter,
            tlv(0x30, &tlv(0x04, b"Netlogon")),
        ]
        .concat(),
    );
    let msg = tlv(0x30, &[tlv(0x02, &[7]), search].concat());
    let mut st = LdapState::new();
    st.datagram(ToServer, &msg);
    let s = st.summary();
    assert!(s.cldap);
    let p = s.cldap_ping.as_ref().expect("ping");
    assert_eq!(p.dns_domain.as_deref(), Some("exwatch.test"));
    assert_eq!(p.host.as_deref(), Some("WS1"));
    assert_eq!(p.nt_ver.as_deref(), Some("06000000"));
    assert!(!p.domain_guid);
    assert_eq!(s.searches[0].filter, "(&(DnsDomain=exwatch.test)(Host=WS1)(NtVer=...))");
}

#[test]
fn extensible_match_filter() {
    // (userAccountControl:1.2.840.113556.1.4.803:=2), as AD tools send it
    let rule = b"1.2.840.113556.1.4.803";
    let ty = b"userAccountControl";
    let mut body = vec![0x81, rule.len() as u8];
    body.extend_from_slice(rule);
    body.extend_from_slice(&[0x82, ty.len() as u8]);
    body.extend_from_slice(ty);
    body.extend_from_slice(&[0x83, 1, b'2']);
    let mut f = vec![0xa9, body.len() as u8];
    f.extend_from_slice(&body);
    let (t, _) = ber::read_tlv(&f).unwrap();
    let mut out = String::new();
    parser::render_filter(&mut out, t, 0);
    assert_eq!(out, "(userAccountControl:1.2.840.113556.1.4.803:=2)");
}

#[test]
fn gap_resync_split_across_feeds() {
    let mut data = vec![0x01, 0x02, 0x03];
    data.extend_from_slice(SEARCH_AND);
    for cut in 0..data.len() {
        let mut st = LdapState::new();
        st.gap(ToServer, 5);
        st.feed(ToServer, &data[..cut], 0);
        st.feed(ToServer, &data[cut..], 0);
        assert_eq!(st.summary().searches.len(), 1, "cut at {cut}");
        assert!(st.dirs[0].buf.is_empty());
    }
}

/// Found by the `ldap_stream` fuzz target: a stray byte after a PDU, at the end of a feed, was
/// buffered as a partial header and took the next message's first byte with it.
#[test]
fn stray_byte_at_feed_end_does_not_eat_next_message() {
    let mut data = vec![0x74];
    data.extend_from_slice(SEARCH_AND);
    let mut st = LdapState::new();
    st.feed(ToServer, &data[..1], 0);
    st.feed(ToServer, &data[1..], 0);
    assert_eq!(st.summary().searches.len(), 1);
    assert_eq!(st.summary().parse_errors, 1);
}

/// Found by the `ldap_stream` fuzz target: a resync hold-back longer than the short PDU it
/// starts (an unbindRequest is 7 bytes) underflowed the "bytes still needed" count.
#[test]
fn resync_holdback_longer_than_pdu() {
    let unbind = [0x30, 0x05, 0x02, 0x01, 0x03, 0x42, 0x00];
    let mut data = vec![0xbe];
    data.extend_from_slice(&unbind[..4]);
    let mut rest = unbind[4..].to_vec();
    rest.extend_from_slice(SEARCH_AND);
    let mut st = LdapState::new();
    st.gap(ToServer, 3);
    st.feed(ToServer, &data, 0);
    st.feed(ToServer, &rest, 0);
    let ops = &st.summary().ops;
    assert!(
        ops.contains(&("unbindRequest", 1)) && ops.contains(&("searchRequest", 1)),
        "{ops:?}"
    );
}

/// Found by the `ldap_stream` fuzz target: bytes left buffered after a short PDU that ended a
/// resync hold-back were dropped when they did not start a message, and with them the start
/// of the next one.
#[test]
fn leftover_after_holdback_is_rescanned() {
    // a 12-byte junk PDU, one stray byte, then a real bind request
    let mut data = vec![
        0x30, 0x0a, 0x02, 0x04, 0x02, 0x63, 0x6e, 0x04, 0x63, 0x30, 0x00, 0x30, 0x00,
    ];
    data.extend_from_slice(BIND_SIMPLE);
    let mut st = LdapState::new();
    st.gap(ToServer, 1);
    st.feed(ToServer, &data[..5], 0);
    for c in data[5..].chunks(6) {
        st.feed(ToServer, c, 0);
    }
    assert_eq!(st.summary().binds.len(), 1);
    assert_eq!(st.summary().binds[0].name, "cn=admin,dc=exwatch,dc=test");
}
