//! The HTTP state machine on arbitrary bytes: the input is cut into chunks, each sent in the
//! direction its first byte picks (`0x00-0x7f` client, else server) with a length from its
//! second byte, so the fuzzer can build sessions; gaps come from chunk headers too. Checked:
//! no panic, the buffers stay bounded, and the probe never panics.

#![no_main]

mod common;

use exwatch::proto::Direction;
use exwatch::proto::http::{HttpState, probe_http, state::MAX_LINE_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = probe_http(Direction::ToClient, data);
    let _ = probe_http(Direction::ToServer, data);
    let mut s = HttpState::new();
    common::drive_stream(&mut s, data, |s| s.buffered_bytes() <= 4 * MAX_LINE_BYTES + 4096);
    let _ = s.summary();
});
