//! Criterion benches for the TLS parser over real handshakes from `fixtures/pdu/tls/`
//! (captured by `fixtures/make-tls-fixtures.sh`):
//!
//! - `tls/client_hello_parse`: `parse_tls_client_hello` on a curl TLS 1.3 ClientHello (517 B).
//! - `tls/client_hello_ja`: the same, plus the owned facts with JA3 (MD5) and JA4 (SHA-256).
//! - `tls/handshake_tls12`: a whole TLS 1.2 mutual-auth handshake (4 certificates, both
//!   directions, ~3 kB) through `TlsState`.
//! - `tls/probe`: `probe_tls` on the first bytes.
//!
//! Run: `cargo bench --bench tls` (add `-- --quick` for a short run).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exwatch::proto::tls::parser::{HANDSHAKE_HEADER_LEN, RECORD_HEADER_LEN, parse_tls_client_hello};
use exwatch::proto::tls::state::client_hello_info;
use exwatch::proto::tls::{TlsState, probe_tls};
use exwatch::proto::{Direction, StreamParser};

const CH: &[u8] = include_bytes!("../fixtures/pdu/tls/curl-tls13.client-hello.bin");
const C2S: &[u8] = include_bytes!("../fixtures/pdu/tls/tls12-mutual-alpn.c2s.bin");
const S2C: &[u8] = include_bytes!("../fixtures/pdu/tls/tls12-mutual-alpn.s2c.bin");

fn benches(c: &mut Criterion) {
    let body = &CH[RECORD_HEADER_LEN + HANDSHAKE_HEADER_LEN..];
    let mut g = c.benchmark_group("tls");
    g.throughput(Throughput::Elements(1));
    g.bench_function("probe", |b| b.iter(|| probe_tls(black_box(CH))));
    g.bench_function("client_hello_parse", |b| {
        b.iter(|| parse_tls_client_hello(black_box(body)).map(|ch| ch.extensions.len()))
    });
    g.bench_function("client_hello_ja", |b| {
        b.iter(|| {
            let ch = parse_tls_client_hello(black_box(body)).ok()?;
            Some(client_hello_info(0x0301, &ch).ja4.len())
        })
    });
    let ch_len = RECORD_HEADER_LEN + u16::from_be_bytes([C2S[3], C2S[4]]) as usize;
    g.bench_function("handshake_tls12", |b| {
        b.iter(|| {
            let mut st = TlsState::new();
            st.feed(Direction::ToServer, black_box(&C2S[..ch_len]), 0);
            st.feed(Direction::ToClient, black_box(S2C), 0);
            st.feed(Direction::ToServer, black_box(&C2S[ch_len..]), 0);
            st.summary().certificates.len()
        })
    });
    g.finish();
}

criterion_group!(tls, benches);
criterion_main!(tls);
