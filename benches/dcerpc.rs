//! DCE/RPC parser throughput over real sessions captured from impacket
//! (`fixtures/pdu/dcerpc/`): probing, one bind PDU, and whole sessions (endpoint mapper with
//! tower decoding; NTLMSSP at packet integrity with a fragmented request) through `DcerpcState`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exwatch::proto::dcerpc::{DcerpcState, probe_dcerpc};
use exwatch::proto::segments::segments;
use exwatch::proto::{Direction, StreamParser};
use std::hint::black_box;

const BIND: &[u8] = include_bytes!("../fixtures/pdu/dcerpc/ntlm-bind.bin");
const EPM: &[u8] = include_bytes!("../fixtures/pdu/dcerpc/epm-ept-map.seg");
const INTEGRITY: &[u8] = include_bytes!("../fixtures/pdu/dcerpc/ntlm-integrity-fragmented.seg");

fn payload_len(seg: &[u8]) -> u64 {
    segments(seg).map(|(_, d)| d.len() as u64).sum()
}

fn replay(seg: &[u8]) -> usize {
    let mut st = DcerpcState::new();
    for (dir, data) in segments(seg) {
        st.feed(dir, data, 0);
    }
    st.summary().binds.len()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("dcerpc");
    g.throughput(Throughput::Elements(1));
    g.bench_function("probe", |b| b.iter(|| probe_dcerpc(black_box(BIND))));
    g.bench_function("ntlm_bind_pdu", |b| {
        b.iter(|| {
            let mut st = DcerpcState::new();
            st.feed(Direction::ToServer, black_box(BIND), 0);
            st.summary().binds.len()
        })
    });
    g.throughput(Throughput::Bytes(payload_len(EPM)));
    g.bench_function("epm_ept_map_session", |b| b.iter(|| replay(black_box(EPM))));
    g.throughput(Throughput::Bytes(payload_len(INTEGRITY)));
    g.bench_function("ntlm_integrity_fragmented_session", |b| {
        b.iter(|| replay(black_box(INTEGRITY)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
