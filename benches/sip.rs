//! SIP parser throughput over real messages captured from SIPp (`fixtures/pdu/sip/`): probing,
//! one INVITE with SDP as a UDP datagram, and a whole INVITE/180/200/ACK/BYE/200 TCP session
//! through `SipState`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exwatch::proto::segments::segments;
use exwatch::proto::sip::{SipState, probe_sip};
use exwatch::proto::{Direction, StreamParser};
use std::hint::black_box;

const INVITE: &[u8] = include_bytes!("../fixtures/pdu/sip/udp-udp-00-c.bin");
const TCP: &[u8] = include_bytes!("../fixtures/pdu/sip/sipp-tcp.seg");

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("sip");
    g.throughput(Throughput::Elements(1));
    g.bench_function("probe", |b| b.iter(|| probe_sip(black_box(INVITE))));
    g.throughput(Throughput::Bytes(INVITE.len() as u64));
    g.bench_function("invite_sdp_datagram", |b| {
        b.iter(|| {
            let mut st = SipState::new();
            st.datagram(Direction::ToServer, black_box(INVITE));
            st.summary().sdp_media.len()
        })
    });
    let segs: Vec<_> = segments(TCP).collect();
    let bytes: usize = segs.iter().map(|(_, p)| p.len()).sum();
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("call_tcp_session", |b| {
        b.iter(|| {
            let mut st = SipState::new();
            for (d, p) in &segs {
                st.feed(*d, black_box(p), 0);
            }
            st.summary().messages
        })
    });
    // the same session again on a state that has seen it: the per-message path once the call,
    // methods and codes exist (no new entries to allocate except the SDP media list)
    let mut warm = SipState::new();
    g.bench_function("call_tcp_session_warm", |b| {
        b.iter(|| {
            for (d, p) in &segs {
                warm.feed(*d, black_box(p), 0);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
