//! The HTTP state machine on arbitrary bytes: the input is cut into chunks, each sent in the
//! direction its first byte picks (`0x00-0x7f` client, else server) with a length from its
//! second byte, so the fuzzer can build sessions; gaps come from chunk headers too. Checked:
//! no panic, the buffers stay bounded, and the probe never panics.

#![no_main]

use exwatch::proto::http::{HttpState, probe_http, state::MAX_LINE_BYTES};
use exwatch::proto::{Direction, StreamParser, Verdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = probe_http(Direction::ToClient, data);
    let _ = probe_http(Direction::ToServer, data);
    let mut s = HttpState::new();
    let mut d = data;
    while let [h, n, rest @ ..] = d {
        let dir = if h & 0x80 == 0 { Direction::ToServer } else { Direction::ToClient };
        if h & 0x7f == 0x7f {
            s.gap(dir, *n as u64 * 97);
            d = rest;
            continue;
        }
        let n = (*n as usize).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        d = tail;
        if s.feed(dir, chunk, 0) != Verdict::Continue {
            break;
        }
        assert!(s.buffered_bytes() <= 4 * MAX_LINE_BYTES + 4096);
    }
    let _ = s.summary();
});
