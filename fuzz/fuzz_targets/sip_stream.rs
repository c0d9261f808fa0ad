//! Arbitrary bytes through the SIP parser: `probe_sip`, `datagram` (UDP), and the stream state
//! fed at split points taken from the input itself. Feeding the same stream in one chunk and in
//! pieces must give the same summary; both directions interleaved with gaps must not panic.

#![no_main]

use exwatch::proto::sip::{SipState, probe_sip};
use exwatch::proto::{Direction, StreamParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = probe_sip(data);
    let mut d = SipState::new();
    d.datagram(Direction::ToServer, data);
    d.datagram(Direction::ToClient, data);

    // first byte: split step; second: direction pattern; rest: the stream
    let (step, pattern, body) = match data {
        [a, b, rest @ ..] => (*a as usize % 64 + 1, *b, rest),
        _ => return,
    };
    let mut whole = SipState::new();
    whole.feed(Direction::ToServer, body, 0);
    let mut split = SipState::new();
    for chunk in body.chunks(step) {
        split.feed(Direction::ToServer, chunk, 0);
    }
    assert_eq!(whole.summary(), split.summary());
    let mut both = SipState::new();
    for (i, chunk) in body.chunks(step).enumerate() {
        let dir = if pattern >> (i % 8) & 1 == 0 { Direction::ToServer } else { Direction::ToClient };
        if i % 7 == 6 {
            both.gap(dir, chunk.len() as u64);
        } else {
            both.feed(dir, chunk, 0);
        }
    }
});
