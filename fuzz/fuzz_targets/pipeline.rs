//! Several frames through decode → IP defragmentation → flow table with a sweep every second
//! of capture time, as the pipeline's worker does (`Worker::frame`/`tick`, private, replicated
//! in `common::Flows` with the public APIs), then end of input. Every packet handed to the
//! table must come out in exactly one flow, and no limit may be exceeded on the way.
//!
//! Input: one byte of configuration (bit 0: tiny limits, so caps and eviction are reached),
//! then records of `[len: u16 LE][meta: u8][len bytes of frame]`; `meta`'s low nibble picks
//! the link type (`common::LINKS`), its high nibble how far the clock moves before the frame
//! (`STEPS_NS`). A last record cut short takes what is left.

#![no_main]

mod common;

use exwatch::capture::Frame;
use libfuzzer_sys::fuzz_target;

const MS: u64 = 1_000_000;
const S: u64 = 1_000 * MS;
/// Clock steps: none, small, past a tick, past the TCP close linger (5 s), the fragment
/// timeout (30 s), the UDP timeout (60 s) and the TCP timeout (300 s).
const STEPS_NS: [u64; 16] = [
    0,
    1_000,
    MS,
    10 * MS,
    100 * MS,
    999 * MS,
    S,
    1_100 * MS,
    2 * S,
    5 * S,
    6 * S,
    30 * S,
    31 * S,
    60 * S,
    61 * S,
    301 * S,
];
/// The pipeline's `TICK_INTERVAL_NS`.
const TICK_NS: u64 = S;

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, mut rest)) = data.split_first() else {
        return;
    };
    let mut flows = common::Flows::new(if cfg & 1 != 0 {
        common::tiny_limits()
    } else {
        common::roomy_limits()
    });
    let mut ts = 1_700_000_000 * S;
    let mut next_tick = ts + TICK_NS;
    let mut idx = 0u64;
    while rest.len() >= 3 {
        let len = u16::from_le_bytes([rest[0], rest[1]]) as usize;
        let meta = rest[2];
        let body = &rest[3..];
        let (frame, tail) = body.split_at(len.min(body.len()));
        rest = tail;
        ts += STEPS_NS[(meta >> 4) as usize];
        if ts >= next_tick {
            flows.tick(ts);
            next_tick = ts + TICK_NS;
        }
        idx += 1;
        let fr = Frame {
            ts_ns: ts,
            link_type: common::link(meta & 0x0F),
            data: frame,
            orig_len: frame.len() as u32 + (cfg >> 4) as u32,
        };
        flows.frame(idx, &fr);
    }
    flows.finish();
});
