//! No heap allocation per packet: once a flow exists, decoding its frames and accounting them
//! in the flow table (TCP state, in-order reassembly) allocates nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use etherparse::PacketBuilder;
use exwatch::capture::{Frame, LinkType};
use exwatch::decode;
use exwatch::flow::{FlowConfig, FlowTable, PacketIn};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// An Ethernet/IPv4/TCP frame.
fn tcp_frame(from_client: bool, seq: u32, ack: u32, syn: bool, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sp, dp) = if from_client {
        ([10, 1, 0, 1], [10, 1, 0, 2], 50123, 443)
    } else {
        ([10, 1, 0, 2], [10, 1, 0, 1], 443, 50123)
    };
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .tcp(sp, dp, seq, 65535);
    let b = if syn { b.syn() } else { b };
    let b = if seq != 1000 || !from_client { b.ack(ack) } else { b };
    let mut v = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut v, payload).unwrap();
    v
}

#[test]
fn steady_state_packets_do_not_allocate() {
    let data = [0x17u8; 1200];
    let mut frames = vec![
        tcp_frame(true, 1000, 0, true, &[]),
        tcp_frame(false, 9000, 1001, true, &[]),
        tcp_frame(true, 1001, 9001, false, &[]),
    ];
    let setup = frames.len();
    let (mut cseq, mut sseq) = (1001u32, 9001u32);
    for _ in 0..5000 {
        frames.push(tcp_frame(true, cseq, sseq, false, &data[..200]));
        cseq += 200;
        frames.push(tcp_frame(false, sseq, cseq, false, &data));
        sseq += 1200;
    }
    let mut table = FlowTable::new(FlowConfig::default());
    let mut ended = 0usize;
    let mut feed = |table: &mut FlowTable, i: usize, data: &[u8]| {
        let fr = Frame {
            ts_ns: 1_700_000_000_000_000_000 + i as u64 * 1000,
            link_type: LinkType::ETHERNET,
            data,
            orig_len: data.len() as u32,
        };
        let meta = decode::decode(&fr).expect("decodes");
        let _ = decode::shard_hash(&fr);
        let p = PacketIn {
            idx: i as u64 + 1,
            ts_ns: fr.ts_ns,
            frames: 1,
            wire_bytes: fr.orig_len as u64,
            fragmented: false,
            meta: &meta,
            l4: meta.l4,
        };
        table.packet(&p, &mut |_, _| ended += 1);
    };
    for (i, f) in frames[..setup].iter().enumerate() {
        feed(&mut table, i, f);
    }
    let before = ALLOCS.load(Ordering::Relaxed);
    for (i, f) in frames.iter().enumerate().skip(setup) {
        feed(&mut table, i, f);
    }
    let after = ALLOCS.load(Ordering::Relaxed);
    assert_eq!(
        after - before,
        0,
        "{} allocations for {} packets",
        after - before,
        frames.len() - setup
    );
    assert_eq!(table.len(), 1);
    assert_eq!(ended, 0);
}
