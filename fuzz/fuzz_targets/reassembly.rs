//! Two `StreamReassembler`s (the two directions of a connection) sharing one `OooBudget`,
//! driven by operations read from the input: SYN, segment (with or without FIN), the peer's
//! ACK, finish, discard. Payload bytes are a function of their sequence number, so every byte
//! delivered can be checked to be the one that belongs at its stream offset. Checked after
//! every operation: the budget's count equals what the two hold and stays within the global
//! limit, each direction within its own limits, the chunks delivered add up to the counters;
//! and after both finish the budget is back to 0.
//!
//! Input: three bytes of limits, then operations `[op][args…]` (see `Op`).

#![no_main]

use exwatch::flow::{Chunk, OooBudget, ReassemblyLimits, StreamReassembler};
use libfuzzer_sys::fuzz_target;

/// The byte at sequence number `seq` of either direction's stream.
fn byte_at(seq: u32) -> u8 {
    (seq.wrapping_mul(0x9E37_79B1) >> 24) as u8 ^ seq as u8
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.u8()?, self.u8()?]))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes([self.u8()?, self.u8()?, self.u8()?, self.u8()?]))
    }
}

/// One direction and what its sink has seen.
#[derive(Default)]
struct Side {
    r: StreamReassembler,
    /// Sequence number of stream offset 0, once known.
    start: Option<u32>,
    /// Sums of the `Data` and `Gap` chunks delivered.
    data: u64,
    gaps: u64,
    /// Finished or discarded: nothing may be delivered any more.
    closed: bool,
}

impl Side {
    /// Run `op` on the reassembler, then check what it delivered.
    fn run(
        &mut self,
        budget: &mut OooBudget,
        op: impl FnOnce(&mut StreamReassembler, &mut OooBudget, &mut dyn FnMut(Chunk<'_>)),
    ) {
        let mut got: Vec<(u64, Option<Vec<u8>>, u64)> = Vec::new();
        let mut off = self.data + self.gaps;
        let (mut data, mut gaps) = (self.data, self.gaps);
        op(&mut self.r, budget, &mut |c| match c {
            Chunk::Data(d) => {
                assert!(!d.is_empty(), "empty Data chunk");
                got.push((off, Some(d.to_vec()), 0));
                off += d.len() as u64;
                data += d.len() as u64;
            }
            Chunk::Gap(n) => {
                assert!(n > 0, "empty Gap chunk");
                got.push((off, None, n));
                off += n;
                gaps += n;
            }
        });
        assert!(
            !self.closed || got.is_empty(),
            "delivered after finish/discard: {got:?}"
        );
        self.data = data;
        self.gaps = gaps;
        assert_eq!(self.r.delivered_bytes(), self.data, "delivered_bytes vs Data chunks");
        assert_eq!(self.r.missing_bytes(), self.gaps, "missing_bytes vs Gap chunks");
        if self.closed {
            return;
        }
        if let Some(next) = self.r.next_seq() {
            let start = next.wrapping_sub((self.data + self.gaps) as u32);
            match self.start {
                None => self.start = Some(start),
                Some(s) => assert_eq!(s, start, "the stream's start moved"),
            }
        } else {
            assert!(got.is_empty(), "delivered before the stream started");
        }
        let start = self.start.unwrap_or(0);
        for (off, d, _) in &got {
            if let Some(d) = d {
                for (i, &b) in d.iter().enumerate() {
                    let seq = start.wrapping_add((off + i as u64) as u32);
                    assert_eq!(b, byte_at(seq), "wrong byte at stream offset {}", off + i as u64);
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    let (Some(a), Some(b), Some(c)) = (inp.u8(), inp.u8(), inp.u8()) else {
        return;
    };
    let limits = ReassemblyLimits {
        max_ooo_bytes_per_dir: a as usize * 16,
        max_ooo_segments_per_dir: (b % 17) as usize,
        max_ooo_bytes_global: c as usize * 24,
    };
    let mut budget = OooBudget::with_limits(limits);
    let mut sides = [Side::default(), Side::default()];
    let mut payload = Vec::new();

    // Op byte: bit 7 the direction, bits 0-2 the operation, bit 3 a raw (not relative) seq.
    while let Some(op) = inp.u8() {
        let s = &mut sides[(op >> 7) as usize];
        // A sequence number: raw from the input, or near the next expected one.
        let base = s.r.next_seq().unwrap_or(1_000);
        let Some(seq) = (if op & 0x08 != 0 {
            inp.u32()
        } else {
            inp.u16().map(|d| base.wrapping_add(d as i16 as i32 as u32))
        }) else {
            break;
        };
        match op & 0x07 {
            0 => s.run(&mut budget, |r, _, _| r.on_syn(seq)),
            1..=3 => {
                let Some(len) = inp.u16() else { break };
                let len = (len % 3000) as usize;
                let fin = op & 0x40 != 0;
                payload.clear();
                payload.extend((0..len).map(|i| byte_at(seq.wrapping_add(i as u32))));
                s.run(&mut budget, |r, b, sink| r.on_segment(seq, &payload, fin, b, sink));
            }
            4 | 5 => s.run(&mut budget, |r, b, sink| r.on_peer_ack(seq, b, sink)),
            6 => {
                s.run(&mut budget, |r, b, sink| r.finish(b, sink));
                s.closed = true;
                assert_eq!(s.r.held_bytes(), 0);
            }
            _ => {
                s.r.discard(&mut budget);
                s.closed = true;
                assert_eq!(s.r.held_bytes(), 0);
            }
        }
        for s in &sides {
            assert!(
                s.r.held_bytes() <= limits.max_ooo_bytes_per_dir,
                "per-direction byte cap"
            );
            assert!(
                s.r.held_segments() <= limits.max_ooo_segments_per_dir,
                "per-direction segment cap"
            );
        }
        let held = sides[0].r.held_bytes() + sides[1].r.held_bytes();
        assert_eq!(budget.used(), held, "the budget's count drifted from what is held");
        assert!(budget.used() <= budget.limit(), "global cap exceeded");
    }
    for s in &mut sides {
        s.run(&mut budget, |r, b, sink| r.finish(b, sink));
        s.closed = true;
    }
    assert_eq!(budget.used(), 0, "bytes still charged after both directions finished");
});
