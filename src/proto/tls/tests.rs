//! Unit tests over single messages and whole handshake flights captured from real peers by
//! `fixtures/make-tls-fixtures.sh` (openssl s_server/s_client 3.0, curl), and malformed
//! variants of them (`fixtures/malformed/tls-*.bin`, made by `fixtures/tools/tls-malformed.py`).
//!
//! Expected JA3/JA3S values are what `tshark -o tls.desegment_ssl_records:TRUE -T fields
//! -e tls.handshake.ja3 -e tls.handshake.ja3_full -e tls.handshake.ja3s` (4.0.17) prints for
//! `fixtures/pcap/tls-openssl.pcap`. tshark 4.0 has no JA4: the JA4 values were derived by hand
//! from the FoxIO spec (technical_details/JA4.md) with a few lines of Python over tshark's
//! `tls.handshake.ciphersuite`, `extension.type`, `sig_hash_alg`, `supported_version`,
//! `extensions_server_name` and `extensions_alpn_str` fields: GREASE dropped, counts as two
//! digits, SHA-256 of the sorted 4-hex-digit lists (SNI and ALPN out of the extension list,
//! signature algorithms appended after `_` in wire order), first 12 hex characters.

use super::parser::*;
use super::*;
use crate::proto::{Direction, StreamParser, Verdict};

macro_rules! pdu {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/pdu/tls/", $name))
    };
}
macro_rules! bad {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/malformed/", $name))
    };
}

/// The capture's time (2026-11-28, the day the fixtures were made), in ns.
const TS: u64 = 1_795_864_300_000_000_000;

struct Flight {
    c2s: &'static [u8],
    s2c: &'static [u8],
}

const TLS10: Flight = Flight {
    c2s: pdu!("tls10-selfsigned.c2s.bin"),
    s2c: pdu!("tls10-selfsigned.s2c.bin"),
};
const TLS11: Flight = Flight {
    c2s: pdu!("tls11-ca.c2s.bin"),
    s2c: pdu!("tls11-ca.s2c.bin"),
};
const TLS12: Flight = Flight {
    c2s: pdu!("tls12-mutual-alpn.c2s.bin"),
    s2c: pdu!("tls12-mutual-alpn.s2c.bin"),
};
const TLS13: Flight = Flight {
    c2s: pdu!("tls13-sni-alpn.c2s.bin"),
    s2c: pdu!("tls13-sni-alpn.s2c.bin"),
};
const CURL12: Flight = Flight {
    c2s: pdu!("curl-tls12-expired.c2s.bin"),
    s2c: pdu!("curl-tls12-expired.s2c.bin"),
};
const CURL13: Flight = Flight {
    c2s: pdu!("curl-tls13.c2s.bin"),
    s2c: pdu!("curl-tls13.s2c.bin"),
};
const ALL: [&Flight; 6] = [&TLS10, &TLS11, &TLS12, &TLS13, &CURL12, &CURL13];

/// The ClientHello record first, then the server's flight, then the rest of the client's, in
/// `chunk`-byte pieces; returns the state and the last verdict.
fn run(f: &Flight, chunk: usize, ts: u64) -> (TlsState, Verdict) {
    let mut st = TlsState::new();
    let ch_len = 5 + u16::from_be_bytes([f.c2s[3], f.c2s[4]]) as usize;
    let mut v = Verdict::Continue;
    for (dir, data) in [
        (Direction::ToServer, &f.c2s[..ch_len]),
        (Direction::ToClient, f.s2c),
        (Direction::ToServer, &f.c2s[ch_len..]),
    ] {
        for c in data.chunks(chunk.max(1)) {
            v = st.feed(dir, c, ts);
        }
    }
    (st, v)
}

fn summary(f: &Flight) -> TlsSummary {
    run(f, usize::MAX, TS).0.summary().clone()
}

#[test]
fn probe_accepts_hellos_and_rejects_text() {
    assert_eq!(probe_tls(pdu!("tls12-mutual-alpn.client-hello.bin")), Probe::Yes);
    assert_eq!(probe_tls(pdu!("tls12-mutual-alpn.server-hello.bin")), Probe::Yes);
    assert_eq!(probe_tls(&[0x16, 0x03, 0x01, 0x00]), Probe::NeedMore);
    assert_eq!(probe_tls(&[0x16, 0x03, 0x01, 0x00, 0x10]), Probe::NeedMore);
    assert_eq!(probe_tls(&[]), Probe::NeedMore);
    assert_eq!(probe_tls(b"GET / HTTP/1.1\r\n"), Probe::No);
    assert_eq!(probe_tls(b"220 mail.example ESMTP\r\n"), Probe::No);
    // handshake record whose first message is a Certificate: not the start of a stream
    assert_eq!(probe_tls(&[0x16, 0x03, 0x03, 0x00, 0x10, 0x0b]), Probe::No);
    // version 3.9 and length 0 are not TLS
    assert_eq!(probe_tls(&[0x16, 0x03, 0x09, 0x00, 0x10, 0x01]), Probe::No);
    assert_eq!(probe_tls(&[0x17, 0x03, 0x03, 0x00, 0x00]), Probe::No);
    assert_eq!(probe_tls(&SSLV2_HELLO), Probe::Yes);
}

#[test]
fn tls12_mutual_alpn_handshake() {
    let (st, v) = run(&TLS12, usize::MAX, TS);
    assert_eq!(v, Verdict::Stop, "both sides sent ChangeCipherSpec");
    let s = st.summary();
    let c = s.client_hello.as_ref().unwrap();
    assert_eq!(c.record_version, 0x0301);
    assert_eq!(c.client_version, 0x0303);
    assert_eq!(c.sni.as_deref(), Some("server.exwatch.test"));
    assert_eq!(c.alpn, ["h2", "http/1.1"]);
    assert_eq!(c.ciphers.len(), 28);
    assert_eq!(c.extensions, [0, 11, 10, 35, 16, 22, 23, 13]);
    assert_eq!(c.supported_groups, [29, 23, 30, 25, 24]);
    assert_eq!(c.ec_point_formats, [0, 1, 2]);
    assert_eq!(
        c.ja3,
        "771,49196-49200-159-52393-52392-52394-49195-49199-158-49188-49192-107-49187-49191-103-49162-\
         49172-57-49161-49171-51-157-156-61-60-53-47-255,0-11-10-35-16-22-23-13,29-23-30-25-24,0-1-2"
    );
    assert_eq!(c.ja3_hash, "22558766122974704364c9c75c5cce0a");
    assert_eq!(c.ja4, "t12d2808h2_d943125447b4_e7e480e5a997");
    let h = s.server_hello.as_ref().unwrap();
    assert_eq!(h.cipher, 0xc02c);
    assert_eq!(cipher_name(h.cipher), Some("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"));
    assert_eq!(h.alpn.as_deref(), Some("http/1.1"));
    assert_eq!(h.ja3s, "771,49196,65281-11-35-16-23");
    assert_eq!(h.ja3s_hash, "e195432758194ce2d482396b82e0d48e");
    assert_eq!(s.version(), Some("TLSv1.2"));
    assert!(s.weak_reasons().is_empty());
    assert_eq!(s.change_cipher_spec, [true, true]);
    // server chain (leaf + CA) and the client's certificate chain
    let who: Vec<(Sender, usize, Option<&str>)> = s
        .certificates
        .iter()
        .map(|c| (c.sender, c.chain_index, c.cert.subject_cn.as_deref()))
        .collect();
    assert_eq!(
        who,
        [
            (Sender::Server, 0, Some("server.exwatch.test")),
            (Sender::Server, 1, Some("exwatch test CA")),
            (Sender::Client, 0, Some("client.exwatch.test")),
            (Sender::Client, 1, Some("exwatch test CA")),
        ]
    );
    let leaf = &s.certificates[0];
    assert_eq!(leaf.cert.subject, "O=exwatch fixtures,CN=server.exwatch.test");
    assert_eq!(leaf.cert.issuer, "O=exwatch fixtures,CN=exwatch test CA");
    assert_eq!(leaf.cert.issuer_cn.as_deref(), Some("exwatch test CA"));
    assert_eq!(leaf.cert.san_dns, ["server.exwatch.test", "mail.exwatch.test"]);
    assert_eq!(leaf.cert.serial, "1001");
    assert_eq!(leaf.cert.not_after - leaf.cert.not_before, 3650 * 86_400);
    assert!(!leaf.cert.self_signed && !leaf.cert.self_issued && !leaf.expired);
    assert!(s.certificates[1].cert.self_signed, "the CA certificate signs itself");
    assert_eq!(s.certificates[2].cert.serial, "2002");
}

#[test]
fn tls10_self_signed_is_weak() {
    let s = summary(&TLS10);
    let c = s.client_hello.as_ref().unwrap();
    assert_eq!(c.ja3_hash, "c6dbf3152a545382a95425e390e2d2e8");
    assert_eq!(c.ja4, "t10d090600_c491f621fb4c_195413a0cc0f");
    assert_eq!(c.sni.as_deref(), Some("selfsigned.exwatch.test"));
    let h = s.server_hello.as_ref().unwrap();
    assert_eq!(h.ja3s, "769,49162,65281-11-35-22-23");
    assert_eq!(h.ja3s_hash, "ef11b7c1bd520da6824fcd0cf876de79");
    assert_eq!(s.version(), Some("TLSv1.0"));
    assert_eq!(s.weak_reasons(), ["tls1.0"]);
    assert_eq!(s.certificates.len(), 1);
    let cert = &s.certificates[0];
    assert!(cert.cert.self_issued && cert.cert.self_signed);
    assert_eq!(cert.cert.subject, "CN=selfsigned.exwatch.test");
    assert_eq!(cert.cert.san_dns, ["selfsigned.exwatch.test"]);
}

#[test]
fn tls11_ca_issued_chain() {
    let s = summary(&TLS11);
    assert_eq!(
        s.client_hello.as_ref().unwrap().ja3_hash,
        "1d41372cac33d51bb9265e8f91bf1df0"
    );
    assert_eq!(
        s.server_hello.as_ref().unwrap().ja3s_hash,
        "19421187c5a923c7fc5cea82cf7f2602"
    );
    assert_eq!(s.version(), Some("TLSv1.1"));
    assert_eq!(s.weak_reasons(), ["tls1.1"]);
    assert_eq!(s.certificates.len(), 2);
    assert!(!s.certificates[0].cert.self_signed);
    assert!(s.certificates[1].cert.self_signed);
}

#[test]
fn tls13_stops_after_server_hello() {
    let mut st = TlsState::new();
    let ch = pdu!("tls13-sni-alpn.client-hello.bin");
    assert_eq!(st.feed(Direction::ToServer, ch, TS), Verdict::Continue);
    assert_eq!(
        st.feed(Direction::ToClient, pdu!("tls13-sni-alpn.server-hello.bin"), TS),
        Verdict::Stop
    );
    let s = st.summary();
    let c = s.client_hello.as_ref().unwrap();
    assert_eq!(c.supported_versions, [0x0304]);
    assert_eq!(c.key_share_groups, [29]);
    assert_eq!(c.sni.as_deref(), Some("mail.exwatch.test"));
    assert_eq!(c.ja3_hash, "9dffdb8b608a430b774a2ff7d36c1a0c");
    assert_eq!(c.ja4, "t13d0411h2_16476d049b0b_78f1d400d464");
    let h = s.server_hello.as_ref().unwrap();
    assert_eq!((h.legacy_version, h.selected_version), (0x0303, 0x0304));
    assert_eq!(h.key_share_group, Some(29));
    assert_eq!(cipher_name(h.cipher), Some("TLS_AES_256_GCM_SHA384"));
    assert_eq!(h.ja3s_hash, "15af977ce25de452b96affa2addb1036");
    assert!(!h.session_id_echoed, "TLS 1.3 echoes the session id without resuming");
    assert_eq!(s.version(), Some("TLSv1.3"));
    assert!(s.certificates.is_empty());
}

#[test]
fn curl_hellos() {
    let s = summary(&CURL13);
    let c = s.client_hello.as_ref().unwrap();
    assert_eq!(c.ja3_hash, "0149f47eabf9a20d0893e2a44e5a6323");
    assert_eq!(c.ja4, "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6");
    assert_eq!(c.supported_versions, [0x0304, 0x0303, 0x0302, 0x0301]);
    let s = summary(&CURL12);
    let c = s.client_hello.as_ref().unwrap();
    assert_eq!(c.sni, None, "curl sends no SNI to an IP address");
    assert_eq!(c.ja3_hash, "a800670a9e75f9768d052dd7f0be5728");
    assert_eq!(c.ja4, "t12i2806h1_d943125447b4_a44c6288192a");
    assert_eq!(
        s.server_hello.as_ref().unwrap().ja3s_hash,
        "a548c224ffe85e7076d7897c27f6758c"
    );
}

#[test]
fn certificate_expiry_is_judged_at_packet_time() {
    // valid 2020-01-01 .. 2020-02-01
    let s = summary(&CURL12);
    let cert = &s.certificates[0];
    assert_eq!(
        (cert.cert.not_before, cert.cert.not_after),
        (1_577_836_800, 1_580_515_200)
    );
    assert_eq!(cert.cert.subject_cn.as_deref(), Some("expired.exwatch.test"));
    assert!(cert.expired && !cert.not_yet_valid && !cert.cert.self_signed);
    let during = run(&CURL12, usize::MAX, 1_579_000_000_000_000_000).0;
    let cert = &during.summary().certificates[0];
    assert!(!cert.expired && !cert.not_yet_valid);
    let before = run(&CURL12, usize::MAX, 1_500_000_000_000_000_000).0;
    assert!(before.summary().certificates[0].not_yet_valid);
}

#[test]
fn same_summary_whatever_the_chunking() {
    for f in ALL {
        let whole = summary(f);
        assert!(whole.client_hello.is_some() && whole.server_hello.is_some());
        for chunk in [1, 2, 3, 7, 100] {
            assert_eq!(run(f, chunk, TS).0.summary(), &whole, "chunk {chunk}");
        }
    }
}

#[test]
fn every_prefix_of_a_client_hello_is_incomplete_never_wrong() {
    let rec = pdu!("curl-tls13.client-hello.bin");
    let full = {
        let mut st = TlsState::new();
        st.feed(Direction::ToServer, rec, TS);
        st.summary().clone()
    };
    assert!(full.client_hello.is_some());
    for n in 0..rec.len() {
        let mut st = TlsState::new();
        assert_eq!(st.feed(Direction::ToServer, &rec[..n], TS), Verdict::Continue);
        assert_eq!(st.summary(), &TlsSummary::default(), "prefix {n}");
        // the rest, byte by byte, completes it
        for b in &rec[n..] {
            st.feed(Direction::ToServer, std::slice::from_ref(b), TS);
        }
        assert_eq!(st.summary(), &full, "prefix {n} then the rest");
    }
}

#[test]
fn every_prefix_of_a_server_flight_is_a_prefix_of_the_truth() {
    for f in [&TLS12, &TLS10, &CURL12] {
        let full = summary(f);
        let ch_len = 5 + u16::from_be_bytes([f.c2s[3], f.c2s[4]]) as usize;
        for n in 0..=f.s2c.len() {
            let mut st = TlsState::new();
            st.feed(Direction::ToServer, &f.c2s[..ch_len], TS);
            st.feed(Direction::ToClient, &f.s2c[..n], TS);
            let s = st.summary();
            assert_eq!(s.client_hello, full.client_hello);
            assert!(
                s.server_hello.is_none() || s.server_hello == full.server_hello,
                "prefix {n}"
            );
            assert!(full.certificates.starts_with(&s.certificates), "prefix {n}");
            assert_eq!(s.malformed, [false, false]);
        }
    }
}

#[test]
fn malformed_hellos_are_not_reported() {
    for (name, data) in [
        (
            "ext overflow",
            &bad!("tls-clienthello-extension-length-overflow.bin")[..],
        ),
        (
            "inner ext overflow",
            &bad!("tls-clienthello-inner-extension-overflow.bin")[..],
        ),
        ("record too large", &bad!("tls-record-length-too-large.bin")[..]),
    ] {
        let mut st = TlsState::new();
        st.feed(Direction::ToServer, data, TS);
        let s = st.summary();
        assert!(s.client_hello.is_none(), "{name}");
        assert_eq!(s.malformed, [true, false], "{name}");
    }
    // a handshake message longer than its record waits for more records: nothing reported
    let mut st = TlsState::new();
    st.feed(Direction::ToServer, bad!("tls-handshake-length-beyond-record.bin"), TS);
    assert_eq!(st.summary(), &TlsSummary::default());
}

#[test]
fn certificate_length_lie_is_not_reported() {
    let mut st = TlsState::new();
    st.feed(Direction::ToServer, pdu!("tls10-selfsigned.client-hello.bin"), TS);
    st.feed(Direction::ToClient, bad!("tls-certificate-length-lies.bin"), TS);
    let s = st.summary();
    assert!(s.server_hello.is_some(), "the ServerHello before it was fine");
    assert!(s.certificates.is_empty());
    assert_eq!(s.malformed, [false, true]);
}

#[test]
fn gap_stops_a_direction_cleanly() {
    let rec = pdu!("tls12-mutual-alpn.client-hello.bin");
    let mut st = TlsState::new();
    st.feed(Direction::ToServer, &rec[..100], TS);
    st.gap(Direction::ToServer, 10);
    st.feed(Direction::ToServer, &rec[110..], TS);
    assert!(st.summary().client_hello.is_none());
    assert_eq!(st.summary().gap, [true, false]);
    // the other direction still parses; with both done the verdict is Stop
    let v = st.feed(Direction::ToClient, TLS12.s2c, TS);
    assert!(st.summary().server_hello.is_some());
    assert_eq!(v, Verdict::Stop);
}

#[test]
fn oversized_handshake_message_is_bounded() {
    // a ClientHello claiming 1 MiB, followed by many full records of filler
    let mut st = TlsState::new();
    let mut first = vec![0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x10, 0x00, 0x00];
    first.resize(5 + 0x4000, 0);
    st.feed(Direction::ToServer, &first, TS);
    let mut filler = vec![0x16, 0x03, 0x01, 0x40, 0x00];
    filler.resize(5 + 0x4000, 0);
    for _ in 0..10 {
        st.feed(Direction::ToServer, &filler, TS);
    }
    assert_eq!(st.summary().too_large, [true, false]);
    assert!(st.summary().client_hello.is_none());
}

#[test]
fn not_tls_is_malformed_not_a_panic() {
    let mut st = TlsState::new();
    st.feed(Direction::ToServer, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", TS);
    assert_eq!(st.summary().malformed, [true, false]);
    assert!(st.summary().client_hello.is_none());
}

/// An SSLv2-format CLIENT-HELLO offering TLS 1.0 (RFC 5246 Appendix E.2): two V2 cipher specs
/// (SSL_CK_RC4_128_WITH_MD5, 0x010080) and one TLS suite (TLS_RSA_WITH_AES_128_CBC_SHA), no
/// session id, a 16-byte challenge.
const SSLV2_HELLO: [u8; 2 + 9 + 6 + 16] = [
    0x80, 31, 0x01, 0x03, 0x01, 0x00, 0x06, 0x00, 0x00, 0x00, 0x10, 0x01, 0x00, 0x80, 0x00, 0x00, 0x2f, 1, 2, 3, 4, 5,
    6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
];

#[test]
fn sslv2_client_hello_and_server_hello() {
    let (ch, used) = parse_sslv2_client_hello(&SSLV2_HELLO).unwrap();
    assert_eq!(used, SSLV2_HELLO.len());
    assert_eq!(ch.version, 0x0301);
    assert_eq!(ch.cipher_specs, [0x010080, 0x00002f]);
    for n in 0..SSLV2_HELLO.len() {
        assert_eq!(
            parse_sslv2_client_hello(&SSLV2_HELLO[..n]).unwrap_err(),
            TlsError::Incomplete
        );
    }
    let mut st = TlsState::new();
    for b in SSLV2_HELLO {
        st.feed(Direction::ToServer, &[b], TS);
    }
    let s = st.summary();
    assert!(s.sslv2_client_hello);
    let c = s.client_hello.as_ref().unwrap();
    assert_eq!(
        (c.client_version, c.ciphers.as_slice(), c.sslv2_format),
        (0x0301, &[0x002f][..], true)
    );
    // an SSLv2 SERVER-HELLO (message type 4) back: SSLv2 itself was negotiated
    let v = st.feed(Direction::ToClient, &[0x80, 0x0a, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0], TS);
    assert_eq!(v, Verdict::Stop);
    assert!(st.summary().sslv2);
    assert_eq!(st.summary().version(), Some("SSLv2"));
    assert_eq!(st.summary().weak_reasons(), ["sslv2"]);
}

#[test]
fn weak_ciphers_are_named() {
    let with = |cipher, v| TlsSummary {
        server_hello: Some(ServerHelloInfo {
            selected_version: v,
            cipher,
            ..ServerHelloInfo::default()
        }),
        ..TlsSummary::default()
    };
    assert_eq!(with(0x0004, 0x0300).weak_reasons(), ["sslv3", "rc4"]);
    assert_eq!(with(0x000a, 0x0303).weak_reasons(), ["3des"]);
    assert_eq!(with(0x0018, 0x0303).weak_reasons(), ["rc4", "anonymous"]);
    assert_eq!(with(0x0002, 0x0303).weak_reasons(), ["null_cipher"]);
    assert_eq!(with(0x0003, 0x0301).weak_reasons(), ["tls1.0", "export_cipher", "rc4"]);
    assert!(with(0x1301, 0x0304).weak_reasons().is_empty());
    assert!(with(0xc02f, 0x0303).weak_reasons().is_empty());
}

#[test]
fn grease_is_kept_in_lists_but_not_in_fingerprints() {
    assert!(is_grease(0x0a0a) && is_grease(0xfafa) && !is_grease(0x0a1a) && !is_grease(0x1301));
    let s = ja::ja3_string(771, &[0x1a1a, 4865], &[0x2a2a, 0, 43], &[0x3a3a, 29], &[0]);
    assert_eq!(s, "771,4865,0-43,29,0");
}

#[test]
fn record_header_limits() {
    assert_eq!(parse_tls_record_header(&[0x16, 3, 1]), Err(TlsError::Incomplete));
    assert_eq!(parse_tls_record_header(&[0x19, 3, 1, 0, 1]), Err(TlsError::Malformed));
    assert_eq!(parse_tls_record_header(&[0x16, 2, 1, 0, 1]), Err(TlsError::Malformed));
    let h = parse_tls_record_header(&[0x17, 3, 3, 0x48, 0x00]).unwrap();
    assert_eq!(h.len as usize, MAX_RECORD_LEN);
}

#[test]
fn sslv2_zero_length_header_does_not_hang() {
    for input in [
        &[0x80u8, 0x00][..],
        &[0x80, 0x03, 0x01, 0x03, 0x01],
        &[0x80, 0x00, 0x80, 0x00],
    ] {
        let mut st = TlsState::new();
        st.feed(Direction::ToServer, input, TS);
        assert!(st.summary().client_hello.is_none());
    }
}

#[test]
fn client_hello_split_over_two_records() {
    // RFC 8446 §5.1: handshake messages may be fragmented across records.
    let rec = pdu!("curl-tls13.client-hello.bin");
    let body = &rec[5..];
    let mut two = Vec::new();
    for part in [&body[..100], &body[100..]] {
        two.extend_from_slice(&[0x16, 0x03, 0x01]);
        two.extend_from_slice(&(part.len() as u16).to_be_bytes());
        two.extend_from_slice(part);
    }
    let mut one = TlsState::new();
    one.feed(Direction::ToServer, rec, TS);
    for chunk in [two.len(), 1, 37] {
        let mut st = TlsState::new();
        for c in two.chunks(chunk) {
            st.feed(Direction::ToServer, c, TS);
        }
        assert_eq!(st.summary(), one.summary(), "chunk {chunk}");
    }
    assert_eq!(
        one.summary().client_hello.as_ref().unwrap().sni.as_deref(),
        Some("server.exwatch.test")
    );
}

#[test]
fn hello_retry_request_then_server_hello() {
    // The real TLS 1.3 ServerHello with the HelloRetryRequest random (RFC 8446 §4.1.3), then a
    // compatibility ChangeCipherSpec, then the real ServerHello.
    let sh = pdu!("tls13-sni-alpn.server-hello.bin");
    let mut hrr = sh.to_vec();
    hrr[11..43].copy_from_slice(&HRR_RANDOM);
    let mut st = TlsState::new();
    st.feed(Direction::ToServer, pdu!("tls13-sni-alpn.client-hello.bin"), TS);
    assert_eq!(st.feed(Direction::ToClient, &hrr, TS), Verdict::Continue);
    assert!(st.summary().hello_retry_request && st.summary().server_hello.is_none());
    assert_eq!(
        st.feed(Direction::ToClient, &[0x14, 0x03, 0x03, 0x00, 0x01, 0x01], TS),
        Verdict::Continue
    );
    assert_eq!(st.feed(Direction::ToClient, sh, TS), Verdict::Stop);
    assert_eq!(st.summary().version(), Some("TLSv1.3"));
}
