//! LDAP parser throughput over real PDUs captured from slapd (`fixtures/pdu/ldap/`): probing,
//! BER framing + search request decoding, and a whole bind+search conversation through
//! `LdapState`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exwatch::proto::ldap::{LdapState, probe_ldap};
use exwatch::proto::{Direction, StreamParser};
use std::hint::black_box;

const SEARCH: &[u8] = include_bytes!("../fixtures/pdu/ldap/search_request_and_filter.bin");
const S1_C: &[u8] = include_bytes!("../fixtures/pdu/ldap/stream1_to_server.bin");
const S1_S: &[u8] = include_bytes!("../fixtures/pdu/ldap/stream1_to_client.bin");

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ldap");
    g.throughput(Throughput::Elements(1));
    g.bench_function("probe", |b| b.iter(|| probe_ldap(black_box(SEARCH))));
    g.bench_function("search_request_pdu", |b| {
        b.iter(|| {
            let mut st = LdapState::new();
            st.feed(Direction::ToServer, black_box(SEARCH), 0);
            st.summary().searches.len()
        })
    });
    g.throughput(Throughput::Bytes((S1_C.len() + S1_S.len()) as u64));
    g.bench_function("bind_search_stream", |b| {
        b.iter(|| {
            let mut st = LdapState::new();
            st.feed(Direction::ToServer, black_box(S1_C), 0);
            st.feed(Direction::ToClient, black_box(S1_S), 0);
            st.summary().binds.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
