//! Criterion benches for layer 3: `FlowTable::packet` (with its sweeps and end-of-input flush).
//!
//! - `flow/fixtures_replayed`: the TCP/UDP packets of every fixture, decoded once, replayed many
//!   times with rewritten addresses (each replica is its own set of flows), on a fresh table.
//! - `flow/synthetic_mix`: generated traffic — TCP connections (SYN, SYN-ACK, ACK, data both
//!   ways, FIN, FIN, ACK; a quarter of them IPv6) and UDP request/response pairs — interleaved
//!   so thousands are open at once, with a sweep every second of capture time like the
//!   pipeline, then a flush: the whole life of every flow.
//! - `flow/steady_state_*`: a table holding 100k (and, for contrast, 1k) live flows (half TCP
//!   picked up mid-stream, half UDP) taking packets for random existing flows: the
//!   lookup-dominated cost, which with 100k flows is bound by cache misses.
//!
//! Throughput is in packets. Run: `cargo bench --bench flow` (add `-- --quick`).

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use exwatch::capture::{Frame, LinkType, MappedFile};
use exwatch::decode::{self, Addr, L4, PacketMeta, TcpMeta};
use exwatch::flow::{EndReason, Flow, FlowConfig, FlowTable, PacketIn};

const NS: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * NS;
/// Capture time between sweeps, as in the pipeline.
const TICK_NS: u64 = NS;

/// A packet ready for the table: meta, time, original frame length.
#[derive(Clone, Copy)]
struct Pkt<'a> {
    meta: PacketMeta<'a>,
    ts_ns: u64,
    wire: u32,
}

/// Feed `pkts` to `table` as the pipeline does (ticks every second of capture time), then
/// flush. Returns the number of flows that ended.
fn run_table(table: &mut FlowTable, pkts: &[Pkt<'_>]) -> u64 {
    let mut ended = 0u64;
    let mut on_end = |f: Flow, _r: EndReason| {
        black_box(&f);
        ended += 1;
    };
    let mut next_tick = pkts.first().map_or(0, |p| p.ts_ns + TICK_NS);
    for (i, p) in pkts.iter().enumerate() {
        if p.ts_ns >= next_tick {
            table.sweep(p.ts_ns, &mut on_end);
            next_tick = p.ts_ns + TICK_NS;
        }
        let pin = PacketIn {
            idx: i as u64 + 1,
            ts_ns: p.ts_ns,
            frames: 1,
            wire_bytes: p.wire as u64,
            fragmented: false,
            meta: &p.meta,
            l4: p.meta.l4,
        };
        table.packet(&pin, &mut on_end);
    }
    table.flush(EndReason::EndOfInput, &mut on_end);
    ended
}

// ---- fixtures, replayed ----

fn fixture_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pcap");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/pcap exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("pcap" | "pcapng")))
        .collect();
    files.sort();
    files
}

/// Every fixture frame, copied: (link type, bytes, original length).
fn fixture_frames() -> Vec<(LinkType, Vec<u8>, u32)> {
    let mut v = Vec::new();
    for path in fixture_files() {
        let m = MappedFile::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let _ = m.for_each(|fr, _| v.push((fr.link_type, fr.data.to_vec(), fr.orig_len)));
    }
    v
}

/// Give replica `r` its own addresses: the same rewrite on both ends keeps each flow's two
/// directions together.
fn rewrite(a: Addr, r: u32) -> Addr {
    let mut a = a;
    let i = if a.v6 { 12 } else { 1 };
    a.bytes[i] ^= (r >> 8) as u8;
    a.bytes[i + 1] ^= r as u8;
    a
}

/// The fixtures' TCP/UDP packets (and ICMP errors quoting them), `replicas` times over, one
/// replica after the other, 10 µs apart.
fn replayed<'a>(frames: &'a [(LinkType, Vec<u8>, u32)], replicas: u32) -> Vec<Pkt<'a>> {
    let base: Vec<(PacketMeta<'a>, u32)> = frames
        .iter()
        .filter_map(|(lt, data, orig)| {
            let fr = Frame {
                ts_ns: 0,
                link_type: *lt,
                data,
                orig_len: *orig,
            };
            let m = decode::decode(&fr).ok()?;
            matches!(m.l4, L4::Tcp(_) | L4::Udp { .. } | L4::IcmpError(_)).then_some((m, *orig))
        })
        .collect();
    let mut out = Vec::with_capacity(base.len() * replicas as usize);
    let mut ts = T0;
    for r in 0..replicas {
        for (m, wire) in &base {
            let mut m = *m;
            m.src = rewrite(m.src, r);
            m.dst = rewrite(m.dst, r);
            if let L4::IcmpError(q) = &mut m.l4 {
                q.src = rewrite(q.src, r);
                q.dst = rewrite(q.dst, r);
            }
            ts += 10_000;
            out.push(Pkt {
                meta: m,
                ts_ns: ts,
                wire: *wire,
            });
        }
    }
    out
}

// ---- synthetic traffic ----

static PAYLOAD: [u8; 1460] = [0x41; 1460];

fn meta(src: Addr, dst: Addr, l4: L4<'static>) -> PacketMeta<'static> {
    PacketMeta {
        vlan: [0; 2],
        vlan_count: 0,
        src,
        dst,
        ip_proto: if matches!(l4, L4::Tcp(_)) { 6 } else { 17 },
        l4,
        tunnels: Default::default(),
    }
}

fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, len: usize) -> L4<'static> {
    L4::Tcp(TcpMeta {
        src_port: sport,
        dst_port: dport,
        seq,
        ack,
        flags,
        window: 65535,
        payload: &PAYLOAD[..len],
        payload_len: len as u32,
    })
}

fn udp(sport: u16, dport: u16, len: usize) -> L4<'static> {
    L4::Udp {
        src_port: sport,
        dst_port: dport,
        payload: &PAYLOAD[..len],
    }
}

/// Client and server addresses of conversation `i` (a quarter IPv6).
fn endpoints(i: u32) -> (Addr, Addr) {
    let b = i.to_be_bytes();
    if i % 4 == 3 {
        let mut c = [0u8; 16];
        c[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        c[12..].copy_from_slice(&b);
        let mut s = c;
        s[11] = 1;
        s[12..].copy_from_slice(&[0, 0, 0, (i % 16) as u8]);
        (Addr::v6(c), Addr::v6(s))
    } else {
        (Addr::v4([10, b[1], b[2], b[3]]), Addr::v4([192, 0, 2, (i % 16) as u8]))
    }
}

const SERVER_PORTS: [u16; 6] = [443, 25, 587, 389, 135, 80];

/// `n_tcp` TCP connections and `n_udp` UDP exchanges, one starting every `start_gap_ns`,
/// with their packets `step_ns` apart, merged in time order.
fn synthetic(n_tcp: u32, n_udp: u32, start_gap_ns: u64, step_ns: u64) -> Vec<Pkt<'static>> {
    const SYN: u8 = TcpMeta::SYN;
    const SA: u8 = TcpMeta::SYN | TcpMeta::ACK;
    const ACK: u8 = TcpMeta::ACK;
    const FA: u8 = TcpMeta::FIN | TcpMeta::ACK;
    let mut out = Vec::with_capacity(n_tcp as usize * 10 + n_udp as usize * 2);
    for i in 0..n_tcp + n_udp {
        let (c, s) = endpoints(i);
        let cp = 1024 + (i % 64_000) as u16;
        let sp = SERVER_PORTS[(i % SERVER_PORTS.len() as u32) as usize];
        let start = T0 + i as u64 * start_gap_ns;
        let mut k = 0u64;
        let mut push = |from_client: bool, l4: L4<'static>, wire: u32| {
            let (src, dst) = if from_client { (c, s) } else { (s, c) };
            out.push(Pkt {
                meta: meta(src, dst, l4),
                ts_ns: start + k * step_ns,
                wire,
            });
            k += 1;
        };
        if i < n_tcp {
            let (ci, si) = (i.wrapping_mul(2_654_435_761), i.wrapping_mul(40_503) ^ 0x5555_0000);
            let (c1, s1) = (ci.wrapping_add(1), si.wrapping_add(1));
            // sequence numbers after the data and after the FINs
            let (c2, c3) = (c1.wrapping_add(200), c1.wrapping_add(201));
            let (s2, s3, s4) = (s1.wrapping_add(1400), s1.wrapping_add(2800), s1.wrapping_add(2801));
            push(true, tcp(cp, sp, ci, 0, SYN, 0), 74);
            push(false, tcp(sp, cp, si, c1, SA, 0), 74);
            push(true, tcp(cp, sp, c1, s1, ACK, 0), 66);
            push(true, tcp(cp, sp, c1, s1, ACK, 200), 266);
            push(false, tcp(sp, cp, s1, c2, ACK, 1400), 1466);
            push(false, tcp(sp, cp, s2, c2, ACK, 1400), 1466);
            push(true, tcp(cp, sp, c2, s3, ACK, 0), 66);
            push(true, tcp(cp, sp, c2, s3, FA, 0), 66);
            push(false, tcp(sp, cp, s3, c3, FA, 0), 66);
            push(true, tcp(cp, sp, c3, s4, ACK, 0), 66);
        } else {
            push(true, udp(cp, 53, 40), 82);
            push(false, udp(53, cp, 200), 242);
        }
    }
    out.sort_by_key(|p| p.ts_ns);
    out
}

/// A deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A table holding `n` live flows (even: TCP picked up mid-stream, odd: UDP), and `count`
/// packets of random ones in random directions, neither SYN nor payload: only lookups and
/// counters.
fn steady_state(n: u32, count: usize) -> (FlowTable, Vec<Pkt<'static>>) {
    let first = |i: u32, from_client: bool| {
        let (c, s) = endpoints(i);
        let cp = 1024 + (i % 64_000) as u16;
        let sp = SERVER_PORTS[(i % SERVER_PORTS.len() as u32) as usize];
        let (src, dst, l4) = match (i.is_multiple_of(2), from_client) {
            (true, true) => (c, s, tcp(cp, sp, 1000, 2000, TcpMeta::ACK, 0)),
            (true, false) => (s, c, tcp(sp, cp, 2000, 1000, TcpMeta::ACK, 0)),
            (false, true) => (c, s, udp(cp, sp, 100)),
            (false, false) => (s, c, udp(sp, cp, 100)),
        };
        Pkt {
            meta: meta(src, dst, l4),
            ts_ns: T0,
            wire: 120,
        }
    };
    let mut table = FlowTable::new(FlowConfig::default());
    let mut sink = |_f: Flow, _r: EndReason| panic!("no flow ends while filling the table");
    for i in 0..n {
        let p = first(i, true);
        let pin = PacketIn {
            idx: i as u64 + 1,
            ts_ns: p.ts_ns,
            frames: 1,
            wire_bytes: p.wire as u64,
            fragmented: false,
            meta: &p.meta,
            l4: p.meta.l4,
        };
        table.packet(&pin, &mut sink);
    }
    assert_eq!(table.len(), n as usize);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let pkts = (0..count)
        .map(|_| {
            let r = rng.next();
            first((r % n as u64) as u32, r & (1 << 40) != 0)
        })
        .collect();
    (table, pkts)
}

fn bench_flow(c: &mut Criterion) {
    let mut g = c.benchmark_group("flow");

    let frames = fixture_frames();
    let pkts = replayed(&frames, 400);
    let flows = run_table(&mut FlowTable::new(FlowConfig::default()), &pkts);
    eprintln!(
        "flow bench: fixtures_replayed = {} packets ({} frames x 400 replicas), {flows} flows",
        pkts.len(),
        frames.len()
    );
    g.throughput(Throughput::Elements(pkts.len() as u64));
    g.bench_function("fixtures_replayed", |b| {
        b.iter_batched(
            || FlowTable::new(FlowConfig::default()),
            |mut t| {
                run_table(&mut t, black_box(&pkts));
                t
            },
            BatchSize::LargeInput,
        )
    });

    // 20k TCP + 20k UDP, one starting every 500 µs (20 s of capture time), packets 20 ms
    // apart: about 400 connections open at once; FIN-closed flows leave through the sweeps.
    let pkts = synthetic(20_000, 20_000, 500_000, 20_000_000);
    let flows = run_table(&mut FlowTable::new(FlowConfig::default()), &pkts);
    eprintln!("flow bench: synthetic_mix = {} packets, {flows} flows", pkts.len());
    g.throughput(Throughput::Elements(pkts.len() as u64));
    g.bench_function("synthetic_mix", |b| {
        b.iter_batched(
            || FlowTable::new(FlowConfig::default()),
            |mut t| {
                run_table(&mut t, black_box(&pkts));
                t
            },
            BatchSize::LargeInput,
        )
    });

    // 100k live flows: tables, flows and map far larger than the caches (the case that
    // matters); 1k: everything cache-resident, for contrast.
    const BATCH: usize = 100_000;
    for (live, name) in [
        (100_000u32, "steady_state_100k_flows"),
        (1_000, "steady_state_1k_flows"),
    ] {
        let (mut table, pkts) = steady_state(live, BATCH);
        g.throughput(Throughput::Elements(BATCH as u64));
        g.bench_function(name, |b| {
            let mut idx = live as u64;
            b.iter(|| {
                for p in &pkts {
                    idx += 1;
                    let pin = PacketIn {
                        idx,
                        ts_ns: p.ts_ns,
                        frames: 1,
                        wire_bytes: p.wire as u64,
                        fragmented: false,
                        meta: &p.meta,
                        l4: p.meta.l4,
                    };
                    table.packet(black_box(&pin), &mut |_, _| unreachable!("no flow ends"));
                }
            })
        });
        assert_eq!(table.len(), live as usize);
    }
    g.finish();
}

criterion_group!(benches, bench_flow);
criterion_main!(benches);
