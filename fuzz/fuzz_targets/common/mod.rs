//! Shared by the fuzz targets: the link-type selector and a replica of the pipeline worker's
//! per-frame logic (`Worker::frame` in src/pipeline/mod.rs is private) built on the public
//! APIs, with the invariants every run must keep checked as it goes.

#![allow(dead_code)] // not every target uses every helper

use exwatch::capture::{Frame, LinkType};
use exwatch::decode::defrag::DefragLimits;
use exwatch::decode::{self, Decap, L4, Reassembler};
use exwatch::flow::{EndReason, Flow, FlowConfig, FlowTable, PacketIn, ReassemblyLimits};

/// The link types a selector byte picks from (`sel % LINKS.len()`): every `LinkType` constant,
/// then one the decoder does not support.
pub const LINKS: [LinkType; 11] = [
    LinkType::NULL,
    LinkType::ETHERNET,
    LinkType::RAW_ALT,
    LinkType::RAW_OPENBSD,
    LinkType::RAW,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::LINUX_SLL2,
    LinkType(147), // LINKTYPE_USER0
];

pub fn link(sel: u8) -> LinkType {
    LINKS[sel as usize % LINKS.len()]
}

/// Small limits, so that caps, eviction and drops are reached with small inputs.
pub fn tiny_limits() -> (FlowConfig, DefragLimits) {
    let flow = FlowConfig {
        max_flows: 3,
        reassembly: ReassemblyLimits {
            max_ooo_bytes_per_dir: 300,
            max_ooo_segments_per_dir: 3,
            max_ooo_bytes_global: 500,
        },
        ..FlowConfig::default()
    };
    let defrag = DefragLimits {
        max_datagrams: 2,
        max_bytes: 2048,
        ..DefragLimits::default()
    };
    (flow, defrag)
}

/// Default limits, except table sizes small enough that creating one per input is cheap.
pub fn roomy_limits() -> (FlowConfig, DefragLimits) {
    let flow = FlowConfig {
        max_flows: 256,
        ..FlowConfig::default()
    };
    let defrag = DefragLimits {
        max_datagrams: 64,
        ..DefragLimits::default()
    };
    (flow, defrag)
}

/// What ended flows added up to.
#[derive(Default)]
struct Ended {
    flows: u64,
    pkts: u64,
    bytes: u64,
}

impl Ended {
    fn take(&mut self, f: Flow, reason: EndReason) {
        assert!(f.start_ns <= f.last_ns, "flow ends before it starts: {f:?}");
        assert!(f.pkts[0] + f.pkts[1] >= 1, "a flow with no packet ended ({reason:?})");
        assert!(f.pkts[0] + f.pkts[1] >= f.icmp_errors + f.ip_fragments);
        self.flows += 1;
        self.pkts += f.pkts[0] + f.pkts[1];
        self.bytes += f.bytes[0] + f.bytes[1];
    }
}

/// decode → defrag → flow table, as the pipeline's worker does it.
pub struct Flows {
    cfg: FlowConfig,
    dlimits: DefragLimits,
    table: FlowTable,
    defrag: Reassembler,
    ended: Ended,
    /// Packets and bytes handed to the table that must come out in some flow.
    expected_pkts: u64,
    expected_bytes: u64,
}

impl Flows {
    pub fn new((cfg, dlimits): (FlowConfig, DefragLimits)) -> Flows {
        Flows {
            cfg,
            dlimits,
            table: FlowTable::new(cfg),
            defrag: Reassembler::new(dlimits, Decap::ALL),
            ended: Ended::default(),
            expected_pkts: 0,
            expected_bytes: 0,
        }
    }

    /// One frame (`Worker::frame`).
    pub fn frame(&mut self, idx: u64, fr: &Frame<'_>) {
        let Ok(meta) = decode::decode(fr) else { return };
        match meta.l4 {
            L4::Fragment(frag) => {
                let out = self.defrag.fragment(&meta, frag, fr.ts_ns, fr.orig_len);
                assert!(out.completed <= 2 && out.dropped <= 1);
                if let Some(Ok((m, frames, wire_bytes))) = out.packet {
                    assert!(frames >= 1 && wire_bytes >= fr.orig_len as u64);
                    assert!(m.tunnels.len() >= meta.tunnels.len(), "reassembly lost a layer");
                    match m.l4 {
                        L4::Other | L4::Fragment(_) => {}
                        l4 => {
                            let p = PacketIn {
                                idx,
                                ts_ns: fr.ts_ns,
                                frames,
                                wire_bytes,
                                fragmented: true,
                                meta: &m,
                                l4,
                            };
                            Self::packet(
                                &mut self.table,
                                &mut self.ended,
                                &mut self.expected_pkts,
                                &mut self.expected_bytes,
                                &p,
                            );
                        }
                    }
                }
            }
            L4::Other => {}
            l4 => {
                let p = PacketIn {
                    idx,
                    ts_ns: fr.ts_ns,
                    frames: 1,
                    wire_bytes: fr.orig_len as u64,
                    fragmented: false,
                    meta: &meta,
                    l4,
                };
                Self::packet(
                    &mut self.table,
                    &mut self.ended,
                    &mut self.expected_pkts,
                    &mut self.expected_bytes,
                    &p,
                );
            }
        }
        self.check_bounds();
    }

    fn packet(table: &mut FlowTable, ended: &mut Ended, pkts: &mut u64, bytes: &mut u64, p: &PacketIn<'_>) {
        let matched = table.counters.icmp_errors_matched;
        table.packet(p, &mut |f, r| ended.take(f, r));
        // TCP/UDP always land in a flow; an ICMP error only when it quotes a tracked one.
        let counted = match p.l4 {
            L4::IcmpError(_) => table.counters.icmp_errors_matched > matched,
            _ => true,
        };
        if counted {
            *pkts += p.frames as u64;
            *bytes += p.wire_bytes;
        }
    }

    fn check_bounds(&self) {
        assert!(self.table.len() <= self.cfg.max_flows.max(1), "flow cap exceeded");
        assert!(
            self.table.reassembly_held_bytes() <= self.cfg.reassembly.max_ooo_bytes_global,
            "reassembly holds {} bytes, limit {}",
            self.table.reassembly_held_bytes(),
            self.cfg.reassembly.max_ooo_bytes_global
        );
        let ds = self.defrag.stats();
        assert!(
            ds.held_bytes <= self.dlimits.max_bytes,
            "defrag holds {} bytes",
            ds.held_bytes
        );
        assert!(ds.held_datagrams <= self.dlimits.max_datagrams);
    }

    /// A tick of the capture clock (`Worker::tick`).
    pub fn tick(&mut self, now_ns: u64) {
        let ended = &mut self.ended;
        self.table.sweep(now_ns, &mut |f, r| ended.take(f, r));
        self.defrag.expire(now_ns);
        self.check_bounds();
    }

    /// End of input: every flow comes out, with every packet and byte it was given.
    pub fn finish(mut self) {
        let ended = &mut self.ended;
        self.table.flush(EndReason::EndOfInput, &mut |f, r| ended.take(f, r));
        assert!(self.table.is_empty());
        assert_eq!(
            self.table.reassembly_held_bytes(),
            0,
            "out-of-order bytes still charged"
        );
        let c = &self.table.counters;
        assert_eq!(self.ended.flows, c.tcp_flows + c.udp_flows, "flows created vs ended");
        assert_eq!(self.ended.pkts, self.expected_pkts, "packets lost or double-counted");
        assert_eq!(self.ended.bytes, self.expected_bytes, "bytes lost or double-counted");
    }
}

/// Drive a line-protocol stream parser (HTTP, IMAP, POP3) with fuzz bytes cut into chunks: each
/// `[h, n, n bytes]`, sent in the direction `h`'s top bit picks (clear: to the server), or a gap
/// of `n × 97` bytes when `h`'s low seven bits are all set. Stops when the parser does; checks
/// after every chunk that `bounded` holds (its buffers stay within their limits).
pub fn drive_stream<P: exwatch::proto::StreamParser>(p: &mut P, data: &[u8], bounded: impl Fn(&P) -> bool) {
    use exwatch::proto::{Direction, Verdict};
    let mut d = data;
    while let [h, n, rest @ ..] = d {
        let dir = if h & 0x80 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        if h & 0x7f == 0x7f {
            p.gap(dir, *n as u64 * 97);
            d = rest;
            continue;
        }
        let n = (*n as usize).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        d = tail;
        if p.feed(dir, chunk, 0) != Verdict::Continue {
            break;
        }
        assert!(bounded(p), "a buffer outgrew its limit");
    }
}
