//! Arbitrary bytes through the DCE/RPC parser: `probe_dcerpc`, the pure PDU and tower readers,
//! and the stream state fed in both directions at split points taken from the input itself.
//! Feeding the same stream in one chunk and in pieces must give the same summary.

#![no_main]

use exwatch::proto::dcerpc::parser;
use exwatch::proto::dcerpc::{DcerpcState, probe_dcerpc};
use exwatch::proto::{Direction, StreamParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = probe_dcerpc(data);
    if let Ok(p) = parser::parse_pdu(data) {
        let le = p.hdr.little_endian();
        let _ = parser::parse_bind(p.body, le).map(|b| b.count());
        let _ = parser::parse_bind_ack(p.body, le).map(|b| b.count());
        let _ = parser::parse_request(p.body, &p.hdr);
        let _ = parser::parse_fault(p.body, le);
    }
    for ndr64 in [false, true] {
        let _ = parser::parse_ept_map_request(data, true, ndr64);
        let _ = parser::parse_ept_map_response(data, true, ndr64);
        let _ = parser::parse_ept_lookup_response(data, true, ndr64);
    }
    let _ = parser::parse_tower(data);

    // first byte: split step; second: direction pattern; rest: the stream
    let (step, pattern, body) = match data {
        [a, b, rest @ ..] => (*a as usize % 64 + 1, *b, rest),
        _ => return,
    };
    let mut whole = DcerpcState::new();
    whole.feed(Direction::ToServer, body, 0);
    let mut split = DcerpcState::new();
    for c in body.chunks(step) {
        split.feed(Direction::ToServer, c, 0);
    }
    assert_eq!(whole.summary(), split.summary());
    // both directions interleaved, with gaps
    let mut both = DcerpcState::new();
    for (i, chunk) in body.chunks(step).enumerate() {
        let dir = if pattern >> (i % 8) & 1 == 0 { Direction::ToServer } else { Direction::ToClient };
        if i % 7 == 6 {
            both.gap(dir, chunk.len() as u64);
        } else {
            both.feed(dir, chunk, 0);
        }
    }
});
