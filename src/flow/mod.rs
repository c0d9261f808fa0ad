//! Layer 3 — flow: the flow table, TCP state, timeouts and eviction, and per-direction TCP
//! reassembly.
//!
//! Owns: which packets belong together ([`FlowKey`], bidirectional), who the client is (the SYN
//! sender; the SYN-ACK's receiver; otherwise a port heuristic so flows picked up mid-stream
//! are oriented right), per-direction packet and byte counters, the TCP state and why a flow
//! ended ([`EndReason`]), idle timeouts on the packet clock, and a hard cap on flows with
//! eviction of the flow idle longest. TCP payload goes through a [`StreamReassembler`] per
//! direction, which hands in-order bytes to the (coming) protocol parsers and counts gaps.
//!
//! Time only moves on packets and on [`FlowTable::sweep`] calls: the pipeline sweeps every
//! worker at the same packet times, so which flows end when does not depend on the number of
//! workers. Every limit is a named constant here and a flag of `exwatch read`.

pub mod announce;
pub mod app;
pub mod facts;
pub mod key;
pub mod reassembly;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

pub use key::{FlowKey, FxBuild};
pub use reassembly::{Chunk, OooBudget, ReassemblyLimits, StreamReassembler};

use crate::decode::{Addr, L4, MAX_VLAN_TAGS, PacketMeta, Quoted, TcpMeta, Tunnels};
use crate::proto::Direction;

/// Zeek's `tcp_inactivity_timeout` (5 min).
pub const DEFAULT_TCP_TIMEOUT_S: u64 = 300;
/// Zeek's `udp_inactivity_timeout` (1 min).
pub const DEFAULT_UDP_TIMEOUT_S: u64 = 60;
/// How long a TCP flow stays after FIN from both sides or RST, so the last ACKs and
/// retransmitted FINs still count in it (Zeek's `tcp_close_delay`/`tcp_reset_delay`, 5 s).
pub const TCP_CLOSE_LINGER_S: u64 = 5;
/// Flows tracked at once (over all workers); beyond it the least recently active is evicted.
pub const DEFAULT_MAX_FLOWS: usize = 262_144;

const NS: u64 = 1_000_000_000;
/// Stale interim-record timers tolerated beyond twice the open flows before they are swept out.
const UPDATE_TIMERS_SLACK: usize = 4096;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;

/// Limits of one flow table.
#[derive(Debug, Clone, Copy)]
pub struct FlowConfig {
    pub tcp_timeout_ns: u64,
    pub udp_timeout_ns: u64,
    pub close_linger_ns: u64,
    pub max_flows: usize,
    pub reassembly: ReassemblyLimits,
    /// Time between interim records of a long-lived flow (0: none, the offline default).
    pub update_interval_ns: u64,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            tcp_timeout_ns: DEFAULT_TCP_TIMEOUT_S * NS,
            udp_timeout_ns: DEFAULT_UDP_TIMEOUT_S * NS,
            close_linger_ns: TCP_CLOSE_LINGER_S * NS,
            max_flows: DEFAULT_MAX_FLOWS,
            reassembly: ReassemblyLimits::default(),
            update_interval_ns: 0,
        }
    }
}

/// Why a flow record was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// FIN from both sides (or one side's FIN and then silence until the linger ran out).
    Fin,
    Rst,
    /// Idle longer than the timeout.
    Timeout,
    /// Pushed out by the flow cap.
    Evicted,
    EndOfInput,
    /// Live capture stopped.
    Shutdown,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Fin => "fin",
            EndReason::Rst => "rst",
            EndReason::Timeout => "timeout",
            EndReason::Evicted => "evicted",
            EndReason::EndOfInput => "end_of_input",
            EndReason::Shutdown => "shutdown",
        }
    }
}

/// Index into per-direction arrays.
pub const TO_SERVER: usize = 0;
pub const TO_CLIENT: usize = 1;

/// How the client side was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orientation {
    Syn,
    SynAck,
    /// The lower or well-known port is the server's.
    Port,
    /// Equal ports: the first sender is the client.
    FirstSender,
    /// No handshake seen; the first message a parser recognised (a TLS hello, a DCE/RPC
    /// request or answer, an LDAP request or response) showed which side is the client.
    Payload,
}

impl Orientation {
    pub fn as_str(self) -> &'static str {
        match self {
            Orientation::Syn => "syn",
            Orientation::SynAck => "syn_ack",
            Orientation::Port => "port",
            Orientation::FirstSender => "first_sender",
            Orientation::Payload => "payload",
        }
    }
}

/// TCP connection state as seen from the middle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    SynSent,
    SynReceived,
    Established,
    /// Picked up without a handshake.
    Midstream,
    /// One side sent FIN.
    Closing,
    /// Both sides sent FIN.
    Closed,
    Reset,
}

impl TcpState {
    pub fn as_str(self) -> &'static str {
        match self {
            TcpState::SynSent => "syn_sent",
            TcpState::SynReceived => "syn_received",
            TcpState::Established => "established",
            TcpState::Midstream => "midstream",
            TcpState::Closing => "closing",
            TcpState::Closed => "closed",
            TcpState::Reset => "reset",
        }
    }
}

/// Per-flow TCP tracking.
#[derive(Debug, Default)]
pub struct TcpFlow {
    pub state: Option<TcpState>,
    /// OR of every flag byte seen, per direction.
    pub flags: [u8; 2],
    /// Initial sequence number of each side's SYN.
    pub isn: [Option<u32>; 2],
    pub fin: [bool; 2],
    pub rst: bool,
    pub reasm: [StreamReassembler; 2],
}

/// One flow, owned by the table until it ends.
#[derive(Debug)]
pub struct Flow {
    pub key: FlowKey,
    pub client: Addr,
    pub client_port: u16,
    pub server: Addr,
    pub server_port: u16,
    pub proto: u8,
    pub vlan: [u16; MAX_VLAN_TAGS],
    pub vlan_count: u8,
    /// The tunnel layers the flow's first packet came through (outermost first); `None` for
    /// untunnelled traffic. Later packets may come through other layers (another mirror
    /// session, the reverse path of a tunnel): the flow keeps the first packet's.
    pub tunnel: Option<Box<Tunnels>>,
    pub orientation: Orientation,
    /// Input-wide index (1-based) of the flow's first frame: the flow's identity for ordering.
    pub first_idx: u64,
    pub start_ns: u64,
    pub last_ns: u64,
    pub pkts: [u64; 2],
    pub bytes: [u64; 2],
    pub tcp: TcpFlow,
    /// The protocol parser that owns the flow's payload.
    pub app: app::AppLayer,
    /// ICMP error frames quoting this flow's packets (counted in `pkts`/`bytes` too).
    pub icmp_errors: u64,
    /// IP fragment frames among `pkts`, and the datagrams they made.
    pub ip_fragments: u64,
    pub ip_datagrams: u64,
    /// The [`facts::notable`] bits already sent to the classify stage as sightings.
    pub notable_sent: u32,
    /// Interim records written for this flow so far ([`FlowTable::updates_due`]).
    pub updates: u32,
    /// The parser was done when the bits were last looked at: they cannot grow any more.
    notable_final: bool,
    /// Bumped each time a slot is reused, so stale timer entries are recognised.
    generation: u32,
    class: TimerClass,
}

impl Flow {
    pub fn missing_bytes(&self) -> u64 {
        self.tcp.reasm[0].missing_bytes() + self.tcp.reasm[1].missing_bytes()
    }
    pub fn is_tcp(&self) -> bool {
        self.proto == IPPROTO_TCP
    }
}

/// Ports that name a service whatever their number: used before "the lower port is the
/// server" to orient flows picked up mid-stream.
const SERVICE_PORTS: &[u16] = &[
    25, 53, 80, 88, 110, 123, 135, 137, 138, 139, 143, 389, 443, 445, 464, 465, 475, 514, 563, 587, 593, 636, 717, 993,
    995, 1433, 2525, 3268, 3269, 3389, 5060, 5061, 5062, 5063, 5064, 5065, 5066, 5067, 5068, 5075, 5076, 5077, 6001,
    6002, 6003, 6004, 8080, 8443, 50389, 50636,
];

fn is_service_port(p: u16) -> bool {
    p < 1024 || SERVICE_PORTS.contains(&p)
}

/// Given a packet from (sport) to (dport) with no handshake to go by, is the sender the
/// client? `None` when the ports cannot tell.
fn sender_is_client_by_port(sport: u16, dport: u16) -> Option<bool> {
    match (is_service_port(sport), is_service_port(dport)) {
        (false, true) => Some(true),
        (true, false) => Some(false),
        _ if sport == dport => None,
        _ => Some(sport > dport),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimerClass {
    Tcp = 0,
    Udp = 1,
    Closed = 2,
}

/// Counters of one flow table.
#[derive(Debug, Default, Clone)]
pub struct FlowCounters {
    pub tcp_flows: u64,
    pub udp_flows: u64,
    pub evicted: u64,
    pub timed_out: u64,
    pub reassembly_gaps: u64,
    pub missing_bytes: u64,
    pub retransmitted_segments: u64,
    pub ooo_segments: u64,
    pub peak_flows: u64,
    pub icmp_errors_matched: u64,
    pub icmp_errors_unmatched: u64,
}

impl FlowCounters {
    pub fn add(&mut self, o: &FlowCounters) {
        self.tcp_flows += o.tcp_flows;
        self.udp_flows += o.udp_flows;
        self.evicted += o.evicted;
        self.timed_out += o.timed_out;
        self.reassembly_gaps += o.reassembly_gaps;
        self.missing_bytes += o.missing_bytes;
        self.retransmitted_segments += o.retransmitted_segments;
        self.ooo_segments += o.ooo_segments;
        self.peak_flows += o.peak_flows;
        self.icmp_errors_matched += o.icmp_errors_matched;
        self.icmp_errors_unmatched += o.icmp_errors_unmatched;
    }
}

/// What a packet tells the table, once decoded (and reassembled, for IP fragments).
#[derive(Debug, Clone, Copy)]
pub struct PacketIn<'a> {
    /// Input-wide 1-based index of the frame (the last fragment's, for a reassembled datagram).
    pub idx: u64,
    pub ts_ns: u64,
    /// Frames this packet stands for (more than one for a reassembled datagram).
    pub frames: u32,
    /// Their summed original length on the wire.
    pub wire_bytes: u64,
    /// Reassembled from IP fragments.
    pub fragmented: bool,
    pub meta: &'a PacketMeta<'a>,
    /// The transport layer (for a reassembled datagram, decoded from the reassembled payload).
    pub l4: L4<'a>,
}

/// The flow table of one worker.
pub struct FlowTable {
    cfg: FlowConfig,
    map: HashMap<FlowKey, u32, FxBuild>,
    slots: Vec<Option<Flow>>,
    free: Vec<u32>,
    generations: Vec<u32>,
    /// Per timer class, a min-heap of (deadline, slot, generation); entries go stale when a
    /// flow ends or changes class and are skipped when they come up.
    timers: [BinaryHeap<Reverse<(u64, u32, u32)>>; 3],
    /// When each flow's next interim record is due: (deadline, slot, generation); empty when
    /// [`FlowConfig::update_interval_ns`] is 0.
    update_timers: BinaryHeap<Reverse<(u64, u32, u32)>>,
    budget: OooBudget,
    pub counters: FlowCounters,
    /// Endpoints announced by flows' payloads since the last [`FlowTable::take_announcements`].
    announcements: Vec<announce::Announcement>,
    /// Open flows whose facts gained a notable bit since the last [`FlowTable::take_sightings`].
    sightings: Vec<facts::Sighting>,
}

impl FlowTable {
    pub fn new(cfg: FlowConfig) -> FlowTable {
        FlowTable {
            map: HashMap::with_capacity_and_hasher(cfg.max_flows.min(1 << 16), FxBuild::default()),
            slots: Vec::new(),
            free: Vec::new(),
            generations: Vec::new(),
            timers: [BinaryHeap::new(), BinaryHeap::new(), BinaryHeap::new()],
            update_timers: BinaryHeap::new(),
            budget: OooBudget::with_limits(cfg.reassembly),
            cfg,
            counters: FlowCounters::default(),
            announcements: Vec::new(),
            sightings: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Move the announcements made since the last call to `into`.
    pub fn take_announcements(&mut self, into: &mut Vec<announce::Announcement>) {
        into.append(&mut self.announcements);
    }

    /// Move the sightings made since the last call to `into`.
    pub fn take_sightings(&mut self, into: &mut Vec<facts::Sighting>) {
        into.append(&mut self.sightings);
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Bytes held out of order by the reassemblers of this table.
    pub fn reassembly_held_bytes(&self) -> usize {
        self.budget.used()
    }

    fn timeout_of(&self, class: TimerClass) -> u64 {
        match class {
            TimerClass::Tcp => self.cfg.tcp_timeout_ns,
            TimerClass::Udp => self.cfg.udp_timeout_ns,
            TimerClass::Closed => self.cfg.close_linger_ns,
        }
    }

    /// Account one packet. Flows that end because of it (TCP port reuse after close, or an
    /// eviction to make room) are passed to `ended`.
    pub fn packet(&mut self, p: &PacketIn<'_>, ended: &mut dyn FnMut(Flow, EndReason)) {
        let m = p.meta;
        let (sport, dport, tcp) = match p.l4 {
            L4::Tcp(t) => (t.src_port, t.dst_port, Some(t)),
            L4::Udp { src_port, dst_port, .. } => (src_port, dst_port, None),
            L4::IcmpError(q) => {
                self.icmp_error(p, &q);
                return;
            }
            _ => return,
        };
        let proto = if tcp.is_some() { IPPROTO_TCP } else { IPPROTO_UDP };
        let (key, _) = FlowKey::new(m.src, sport, m.dst, dport, proto, m.vlan, m.vlan_count);
        let mut slot = self.map.get(&key).copied();

        // A new SYN on a flow that already closed (port reuse) starts a new flow.
        if let (Some(i), Some(t)) = (slot, tcp)
            && t.has(TcpMeta::SYN)
            && !t.has(TcpMeta::ACK)
        {
            let f = self.slots[i as usize].as_ref().expect("mapped slot is live");
            let from_client = f.client == m.src && f.client_port == sport;
            let closed = f.tcp.rst || f.tcp.fin[0] || f.tcp.fin[1];
            let new_isn = f.tcp.isn[if from_client { TO_SERVER } else { TO_CLIENT }] != Some(t.seq);
            if closed && new_isn {
                let reason = if f.tcp.rst { EndReason::Rst } else { EndReason::Fin };
                self.end(i, reason, ended);
                slot = None;
            }
        }

        let i = match slot {
            Some(i) => i,
            None => {
                if self.map.len() >= self.cfg.max_flows.max(1) {
                    self.evict_one(ended);
                }
                self.create(key, p, sport, dport, proto, tcp)
            }
        };
        let timeouts = [
            self.cfg.tcp_timeout_ns,
            self.cfg.udp_timeout_ns,
            self.cfg.close_linger_ns,
        ];
        let budget = &mut self.budget;
        let f = self.slots[i as usize].as_mut().expect("live slot");
        let mut dir = if f.client == m.src && f.client_port == sport {
            TO_SERVER
        } else {
            TO_CLIENT
        };
        if let Some(t) = tcp {
            // A handshake seen after a mid-stream start tells who the client really is.
            let syn_only = t.has(TcpMeta::SYN) && !t.has(TcpMeta::ACK);
            let syn_ack = t.has(TcpMeta::SYN) && t.has(TcpMeta::ACK);
            let no_syn_yet = f.tcp.isn == [None, None];
            if no_syn_yet && ((syn_only && dir == TO_CLIENT) || (syn_ack && dir == TO_SERVER)) {
                swap_orientation(f);
                dir = 1 - dir;
            }
            if no_syn_yet && (syn_only || syn_ack) {
                f.app.may_reorient = false;
                f.orientation = if syn_only {
                    Orientation::Syn
                } else {
                    Orientation::SynAck
                };
            }
        }
        f.pkts[dir] += p.frames as u64;
        f.bytes[dir] += p.wire_bytes;
        if p.fragmented {
            f.ip_fragments += p.frames as u64;
            f.ip_datagrams += 1;
        }
        if p.ts_ns > f.last_ns {
            f.last_ns = p.ts_ns;
        }
        let mut class = f.class;
        if let Some(t) = tcp {
            tcp_packet(f, dir, &t, p.ts_ns, budget, &mut self.counters.reassembly_gaps);
            if f.app.take_flip() {
                reorient(f);
            }
            if f.tcp.rst || (f.tcp.fin[0] && f.tcp.fin[1]) {
                class = TimerClass::Closed;
            }
        } else if let L4::Udp { payload, .. } = p.l4 {
            let d = if dir == TO_SERVER {
                Direction::ToServer
            } else {
                Direction::ToClient
            };
            f.app.datagram(d, payload, p.ts_ns);
        }
        if !f.app.announced.is_empty() {
            stamp(&mut self.announcements, f, p.ts_ns);
        }
        if has_payload(&p.l4) {
            sight(&mut self.sightings, f, p.ts_ns);
        }
        if class != f.class {
            f.class = class;
            let deadline = f.last_ns.saturating_add(timeouts[class as usize]);
            let slot_gen = f.generation;
            self.timers[class as usize].push(Reverse((deadline, i, slot_gen)));
        }
    }

    /// An ICMP error quoting a packet of a flow we track counts in that flow, in the quoted
    /// packet's direction (as tshark's conversation table counts it). It creates no flow and
    /// does not change TCP state.
    fn icmp_error(&mut self, p: &PacketIn<'_>, q: &Quoted) -> bool {
        let m = p.meta;
        let (key, _) = FlowKey::new(q.src, q.src_port, q.dst, q.dst_port, q.proto, m.vlan, m.vlan_count);
        let Some(&i) = self.map.get(&key) else {
            self.counters.icmp_errors_unmatched += 1;
            return false;
        };
        self.counters.icmp_errors_matched += 1;
        let f = self.slots[i as usize].as_mut().expect("mapped slot is live");
        let dir = if f.client == q.src && f.client_port == q.src_port {
            TO_SERVER
        } else {
            TO_CLIENT
        };
        f.pkts[dir] += p.frames as u64;
        f.bytes[dir] += p.wire_bytes;
        f.icmp_errors += p.frames as u64;
        true
    }

    fn create(
        &mut self,
        key: FlowKey,
        p: &PacketIn<'_>,
        sport: u16,
        dport: u16,
        proto: u8,
        tcp: Option<TcpMeta<'_>>,
    ) -> u32 {
        let m = p.meta;
        let (src_is_client, orientation) = match tcp {
            Some(t) if t.has(TcpMeta::SYN) && !t.has(TcpMeta::ACK) => (true, Orientation::Syn),
            Some(t) if t.has(TcpMeta::SYN) => (false, Orientation::SynAck),
            _ => match sender_is_client_by_port(sport, dport) {
                Some(c) => (c, Orientation::Port),
                None => (true, Orientation::FirstSender),
            },
        };
        let (client, client_port, server, server_port) = if src_is_client {
            (m.src, sport, m.dst, dport)
        } else {
            (m.dst, dport, m.src, sport)
        };
        let class = if proto == IPPROTO_TCP {
            TimerClass::Tcp
        } else {
            TimerClass::Udp
        };
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(None);
                self.generations.push(0);
                (self.slots.len() - 1) as u32
            }
        };
        let generation = self.generations[i as usize];
        self.slots[i as usize] = Some(Flow {
            key,
            client,
            client_port,
            server,
            server_port,
            proto,
            vlan: m.vlan,
            vlan_count: m.vlan_count,
            tunnel: (!m.tunnels.is_empty()).then(|| Box::new(m.tunnels)),
            orientation,
            first_idx: p.idx,
            start_ns: p.ts_ns,
            last_ns: p.ts_ns,
            pkts: [0; 2],
            bytes: [0; 2],
            tcp: TcpFlow::default(),
            app: app::AppLayer::default(),
            icmp_errors: 0,
            ip_fragments: 0,
            ip_datagrams: 0,
            notable_sent: 0,
            updates: 0,
            notable_final: false,
            generation,
            class,
        });
        // ends guessed from the ports: the first message a parser recognises may correct them
        if proto == IPPROTO_TCP && matches!(orientation, Orientation::Port | Orientation::FirstSender) {
            self.slots[i as usize].as_mut().expect("just made").app.may_reorient = true;
        }
        self.map.insert(key, i);
        if proto == IPPROTO_TCP {
            self.counters.tcp_flows += 1;
        } else {
            self.counters.udp_flows += 1;
        }
        self.counters.peak_flows = self.counters.peak_flows.max(self.map.len() as u64);
        let deadline = p.ts_ns.saturating_add(self.timeout_of(class));
        self.timers[class as usize].push(Reverse((deadline, i, generation)));
        if self.cfg.update_interval_ns > 0 {
            let due = p.ts_ns.saturating_add(self.cfg.update_interval_ns);
            self.update_timers.push(Reverse((due, i, generation)));
        }
        i
    }

    /// Remove flow `i` and hand it out.
    fn end(&mut self, i: u32, reason: EndReason, ended: &mut dyn FnMut(Flow, EndReason)) {
        let Some(mut f) = self.slots[i as usize].take() else {
            return;
        };
        self.map.remove(&f.key);
        self.generations[i as usize] = self.generations[i as usize].wrapping_add(1);
        self.free.push(i);
        for d in 0..2 {
            let gaps = &mut self.counters.reassembly_gaps;
            let ts = f.last_ns;
            f.tcp.reasm[d].finish(&mut self.budget, &mut deliver(&mut f.app, d, ts, gaps));
            if !f.app.announced.is_empty() {
                stamp(&mut self.announcements, &mut f, ts);
            }
            if f.app.take_flip() {
                reorient(&mut f);
            }
            let r = &f.tcp.reasm[d];
            self.counters.missing_bytes += r.missing_bytes();
            self.counters.retransmitted_segments += r.retransmitted_segments();
            self.counters.ooo_segments += r.ooo_segments();
        }
        match reason {
            EndReason::Evicted => self.counters.evicted += 1,
            EndReason::Timeout => self.counters.timed_out += 1,
            _ => {}
        }
        ended(f, reason);
    }

    /// Is the timer entry still the flow's current one, and if so when does it really expire?
    fn live_deadline(&self, class: usize, i: u32, slot_gen: u32) -> Option<u64> {
        let f = self.slots.get(i as usize)?.as_ref()?;
        if f.generation != slot_gen || f.class as usize != class {
            return None;
        }
        Some(f.last_ns.saturating_add(self.timeout_of(f.class)))
    }

    /// End every flow idle past its timeout at packet time `now_ns`.
    pub fn sweep(&mut self, now_ns: u64, ended: &mut dyn FnMut(Flow, EndReason)) {
        for class in 0..3 {
            while let Some(&Reverse((deadline, i, slot_gen))) = self.timers[class].peek() {
                if deadline > now_ns {
                    break;
                }
                self.timers[class].pop();
                let Some(real) = self.live_deadline(class, i, slot_gen) else {
                    continue;
                };
                if real <= now_ns {
                    let reason = if class == TimerClass::Closed as usize {
                        let f = self.slots[i as usize].as_ref().expect("live");
                        if f.tcp.rst { EndReason::Rst } else { EndReason::Fin }
                    } else {
                        EndReason::Timeout
                    };
                    self.end(i, reason, ended);
                } else {
                    self.timers[class].push(Reverse((real, i, slot_gen)));
                }
            }
        }
    }

    /// Evict the flow closest to its timeout (the least recently active one).
    fn evict_one(&mut self, ended: &mut dyn FnMut(Flow, EndReason)) {
        let mut best: Option<(u64, usize)> = None;
        for class in 0..3 {
            // Bring the top up to date: drop stale entries, move entries of flows that were
            // active since they were scheduled to their real deadline. Then the top is the
            // flow of this class that has been idle longest.
            while let Some(&Reverse((scheduled, i, slot_gen))) = self.timers[class].peek() {
                match self.live_deadline(class, i, slot_gen) {
                    None => {
                        self.timers[class].pop();
                    }
                    Some(real) if real > scheduled => {
                        self.timers[class].pop();
                        self.timers[class].push(Reverse((real, i, slot_gen)));
                    }
                    Some(real) => {
                        if best.is_none_or(|(d, _)| real < d) {
                            best = Some((real, class));
                        }
                        break;
                    }
                }
            }
        }
        if let Some((_, class)) = best {
            let Reverse((_, i, _)) = self.timers[class].pop().expect("top exists");
            self.end(i, EndReason::Evicted, ended);
        }
    }

    /// End every flow (end of input, shutdown), oldest first.
    pub fn flush(&mut self, reason: EndReason, ended: &mut dyn FnMut(Flow, EndReason)) {
        let mut live: Vec<(u64, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|f| (f.first_idx, i as u32)))
            .collect();
        live.sort_unstable();
        for (_, i) in live {
            // a connection already closed by FIN or RST ended that way, not by the input ending
            let f = self.slots[i as usize].as_ref().expect("live");
            let why = if f.tcp.rst {
                EndReason::Rst
            } else if f.tcp.fin[0] && f.tcp.fin[1] {
                EndReason::Fin
            } else {
                reason
            };
            self.end(i, why, ended);
        }
        for t in &mut self.timers {
            t.clear();
        }
        self.update_timers.clear();
    }

    /// Hand every open flow whose interim record is due at `now_ns` to `interim` (a record of
    /// the flow so far; the flow stays open), one per [`FlowConfig::update_interval_ns`] since
    /// the flow began. After a gap longer than the interval (a quiet link) the next one is due
    /// an interval after now, not in a burst. Run after [`FlowTable::sweep`], so a flow that
    /// times out now gets its final record only.
    pub fn updates_due(&mut self, now_ns: u64, interim: &mut dyn FnMut(&Flow)) {
        let every = self.cfg.update_interval_ns;
        if every == 0 {
            return;
        }
        while let Some(&Reverse((due, i, slot_gen))) = self.update_timers.peek() {
            if due > now_ns {
                break;
            }
            self.update_timers.pop();
            let Some(f) = self.slots.get_mut(i as usize).and_then(Option::as_mut) else {
                continue;
            };
            if f.generation != slot_gen {
                continue;
            }
            interim(f);
            f.updates = f.updates.saturating_add(1);
            let mut next = due.saturating_add(every);
            if next <= now_ns {
                next = now_ns.saturating_add(every);
            }
            self.update_timers.push(Reverse((next, i, slot_gen)));
        }
        // entries of flows that ended stay until they come up: drop them once they outnumber
        // the open flows, so the heap stays within a small multiple of the flow table
        if self.update_timers.len() > 2 * self.map.len() + UPDATE_TIMERS_SLACK {
            let slots = &self.slots;
            self.update_timers.retain(|Reverse((_, i, g))| {
                slots
                    .get(*i as usize)
                    .and_then(Option::as_ref)
                    .is_some_and(|f| f.generation == *g)
            });
        }
    }
}

/// Make the other side the client.
/// The parser's first message showed the guessed ends the wrong way round.
fn reorient(f: &mut Flow) {
    swap_orientation(f);
    f.orientation = Orientation::Payload;
}

fn swap_orientation(f: &mut Flow) {
    std::mem::swap(&mut f.client, &mut f.server);
    std::mem::swap(&mut f.client_port, &mut f.server_port);
    f.pkts.swap(0, 1);
    f.bytes.swap(0, 1);
    f.tcp.flags.swap(0, 1);
    f.tcp.isn.swap(0, 1);
    f.tcp.fin.swap(0, 1);
    f.tcp.reasm.swap(0, 1);
}

/// TCP state and reassembly for one segment in direction `dir`.
/// Where one direction's in-order chunks go: the flow's protocol parser; gaps are counted.
/// Stamp what the flow's parser announced with the time and the announcing flow.
fn stamp(out: &mut Vec<announce::Announcement>, f: &mut Flow, ts_ns: u64) {
    let by = announce::FlowTuple {
        client: f.client,
        client_port: f.client_port,
        server: f.server,
        server_port: f.server_port,
        proto: f.proto,
    };
    for a in f.app.announced.drain(..) {
        out.push(announce::Announcement {
            ts_ns,
            addr: a.addr.unwrap_or(f.server),
            port: a.port,
            proto: a.proto,
            what: a.what,
            by_idx: f.first_idx,
            by,
        });
    }
}

/// The packet carried transport payload (only then can a parser have learnt something).
fn has_payload(l4: &L4<'_>) -> bool {
    match l4 {
        L4::Tcp(t) => !t.payload.is_empty(),
        L4::Udp { payload, .. } => !payload.is_empty(),
        _ => false,
    }
}

/// When the flow's facts gained a notable bit ([`facts::notable`]), queue a snapshot for the
/// classify stage, so a finding is raised now and not when the flow ends.
fn sight(out: &mut Vec<facts::Sighting>, f: &mut Flow, ts_ns: u64) {
    if f.notable_final {
        return;
    }
    // once the parser is done its facts are final: no need to look again (a TLS flow's
    // application data after the handshake)
    f.notable_final = f.app.is_done();
    let n = facts::notable(&f.app);
    if n & !f.notable_sent != 0 {
        f.notable_sent |= n;
        out.push(facts::Sighting {
            ts_ns,
            flow: facts::flow_facts(f),
        });
    }
}

fn deliver<'a>(app: &'a mut app::AppLayer, dir: usize, ts: u64, gaps: &'a mut u64) -> impl FnMut(Chunk<'_>) + 'a {
    let d = if dir == TO_SERVER {
        Direction::ToServer
    } else {
        Direction::ToClient
    };
    move |c| match c {
        Chunk::Data(data) => app.data(d, data, ts),
        Chunk::Gap(n) => {
            *gaps += 1;
            app.gap(d, n);
        }
    }
}

fn tcp_packet(f: &mut Flow, dir: usize, t: &TcpMeta<'_>, ts: u64, budget: &mut OooBudget, gaps: &mut u64) {
    let Flow { tcp, app, .. } = f;
    tcp.flags[dir] |= t.flags;
    let syn = t.has(TcpMeta::SYN);
    let ack = t.has(TcpMeta::ACK);
    let mut seq = t.seq;
    if syn {
        if tcp.isn[dir].is_none() {
            tcp.isn[dir] = Some(t.seq);
            tcp.reasm[dir].on_syn(t.seq);
        }
        seq = t.seq.wrapping_add(1);
    }
    // Data (and the FIN's sequence number) in order to the parsers.
    let fin = t.has(TcpMeta::FIN);
    if !t.payload.is_empty() || fin {
        let cut = t.payload_len as usize > t.payload.len();
        // a segment cut by the snap length carries no FIN we could place: the FIN follows the
        // bytes that were not captured
        tcp.reasm[dir].on_segment(seq, t.payload, fin && !cut, budget, &mut deliver(app, dir, ts, gaps));
        if cut {
            // The rest of the segment was on the wire but not captured: skip it as missing now
            // rather than hold later segments waiting for it.
            let end = seq.wrapping_add(t.payload_len);
            tcp.reasm[dir].on_peer_ack(end, budget, &mut deliver(app, dir, ts, gaps));
            if fin {
                tcp.reasm[dir].on_segment(end, &[], true, budget, &mut deliver(app, dir, ts, gaps));
            }
        }
    }
    // The peer acknowledged bytes we are waiting for: they were sent but not captured.
    let other = 1 - dir;
    if ack && tcp.reasm[other].held_bytes() > 0 {
        tcp.reasm[other].on_peer_ack(t.ack, budget, &mut deliver(app, other, ts, gaps));
    }
    if fin {
        tcp.fin[dir] = true;
    }
    if t.has(TcpMeta::RST) {
        tcp.rst = true;
    }
    tcp.state = Some(match (tcp.state, syn, ack) {
        _ if tcp.rst => TcpState::Reset,
        _ if tcp.fin[0] && tcp.fin[1] => TcpState::Closed,
        _ if tcp.fin[0] || tcp.fin[1] => TcpState::Closing,
        (None, true, false) => TcpState::SynSent,
        (None, true, true) | (Some(TcpState::SynSent), true, true) => TcpState::SynReceived,
        (Some(TcpState::SynReceived), false, true) => TcpState::Established,
        (None, _, _) => TcpState::Midstream,
        (Some(s), _, _) => s,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{PacketMeta, Quoted};

    const A: [u8; 4] = [10, 0, 0, 1];
    const B: [u8; 4] = [10, 0, 0, 2];
    const S: u64 = 1_000_000_000;
    const T0: u64 = 1_700_000_000 * S;

    fn meta(src: [u8; 4], dst: [u8; 4], l4: L4<'static>) -> PacketMeta<'static> {
        PacketMeta {
            vlan: [0; 2],
            vlan_count: 0,
            src: Addr::v4(src),
            dst: Addr::v4(dst),
            ip_proto: 6,
            l4,
            tunnels: Default::default(),
        }
    }

    fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, payload: &'static [u8]) -> L4<'static> {
        L4::Tcp(TcpMeta {
            src_port: sport,
            dst_port: dport,
            seq,
            ack,
            flags,
            window: 1000,
            payload,
            payload_len: payload.len() as u32,
        })
    }

    fn udp(sport: u16, dport: u16) -> L4<'static> {
        L4::Udp {
            src_port: sport,
            dst_port: dport,
            payload: b"x",
        }
    }

    /// Feeds packets to a table and keeps what ends.
    struct Run {
        t: FlowTable,
        idx: u64,
        ended: Vec<(Flow, EndReason)>,
    }

    impl Run {
        fn new(cfg: FlowConfig) -> Run {
            Run {
                t: FlowTable::new(cfg),
                idx: 0,
                ended: Vec::new(),
            }
        }
        fn pkt(&mut self, ts: u64, src: [u8; 4], dst: [u8; 4], l4: L4<'static>, wire: u64) {
            self.idx += 1;
            let m = meta(src, dst, l4);
            let p = PacketIn {
                idx: self.idx,
                ts_ns: ts,
                frames: 1,
                wire_bytes: wire,
                fragmented: false,
                meta: &m,
                l4,
            };
            let ended = &mut self.ended;
            self.t.packet(&p, &mut |f, r| ended.push((f, r)));
        }
        fn sweep(&mut self, ts: u64) {
            let ended = &mut self.ended;
            self.t.sweep(ts, &mut |f, r| ended.push((f, r)));
        }
        fn flush(&mut self) {
            let ended = &mut self.ended;
            self.t.flush(EndReason::EndOfInput, &mut |f, r| ended.push((f, r)));
        }
    }

    const SYN: u8 = TcpMeta::SYN;
    const SA: u8 = TcpMeta::SYN | TcpMeta::ACK;
    const ACK: u8 = TcpMeta::ACK;
    const FA: u8 = TcpMeta::FIN | TcpMeta::ACK;
    const RST: u8 = TcpMeta::RST;

    /// A full connection A:40000 -> B:8080 with one request and reply, closed by FIN.
    fn handshake_and_close(r: &mut Run, t: u64, isn: u32) {
        r.pkt(t, A, B, tcp(40000, 8080, isn, 0, SYN, b""), 74);
        r.pkt(t + 1, B, A, tcp(8080, 40000, 5000, isn + 1, SA, b""), 74);
        r.pkt(t + 2, A, B, tcp(40000, 8080, isn + 1, 5001, ACK, b""), 66);
        r.pkt(t + 3, A, B, tcp(40000, 8080, isn + 1, 5001, ACK, b"GET /"), 71);
        r.pkt(t + 4, B, A, tcp(8080, 40000, 5001, isn + 6, ACK, b"200 OK"), 72);
        r.pkt(t + 5, A, B, tcp(40000, 8080, isn + 6, 5007, FA, b""), 66);
        r.pkt(t + 6, B, A, tcp(8080, 40000, 5007, isn + 7, FA, b""), 66);
        r.pkt(t + 7, A, B, tcp(40000, 8080, isn + 7, 5008, ACK, b""), 66);
    }

    /// Sweep, then take the interim records due, as the pipeline's tick does: (first_idx,
    /// packets so far, updates before).
    fn tick(r: &mut Run, ts: u64) -> Vec<(u64, u64, u32)> {
        r.sweep(ts);
        let mut got = Vec::new();
        r.t.updates_due(ts, &mut |f| got.push((f.first_idx, f.pkts[0] + f.pkts[1], f.updates)));
        got
    }

    #[test]
    fn interim_records_come_every_interval_while_the_flow_lasts() {
        let cfg = FlowConfig {
            update_interval_ns: 10 * S,
            udp_timeout_ns: 30 * S,
            ..FlowConfig::default()
        };
        let mut r = Run::new(cfg);
        r.pkt(T0, A, B, udp(5000, 53), 60);
        r.pkt(T0 + 2 * S, B, A, udp(53, 5000), 60);
        assert_eq!(tick(&mut r, T0 + 9 * S), []);
        assert_eq!(tick(&mut r, T0 + 10 * S), [(1, 2, 0)]);
        assert_eq!(tick(&mut r, T0 + 11 * S), []);
        r.pkt(T0 + 15 * S, A, B, udp(5000, 53), 60);
        assert_eq!(tick(&mut r, T0 + 20 * S), [(1, 3, 1)]);
        // a gap of several intervals (a quiet link, ticks missed): one record, the next an
        // interval later, not a burst
        r.pkt(T0 + 40 * S, A, B, udp(5000, 53), 60);
        assert_eq!(tick(&mut r, T0 + 55 * S), [(1, 4, 2)]);
        assert_eq!(tick(&mut r, T0 + 60 * S), []);
        assert_eq!(tick(&mut r, T0 + 65 * S), [(1, 4, 3)]);
        // the flow times out (30 s after its last packet): its final record says 4 updates
        // came before it, and no interim comes for it at the same tick
        assert_eq!(tick(&mut r, T0 + 75 * S), []);
        assert_eq!(r.ended.len(), 1);
        assert_eq!((r.ended[0].1, r.ended[0].0.updates), (EndReason::Timeout, 4));
    }

    #[test]
    fn no_interim_records_by_default_and_stale_timers_are_dropped() {
        let mut r = Run::new(FlowConfig::default());
        r.pkt(T0, A, B, udp(5000, 53), 60);
        assert_eq!(tick(&mut r, T0 + 3600 * S), []);
        assert!(r.t.update_timers.is_empty());

        let cfg = FlowConfig {
            update_interval_ns: 300 * S,
            ..FlowConfig::default()
        };
        let mut r = Run::new(cfg);
        // many short flows that end (time out after 60 s) long before their first interim
        // record is due, and one that stays
        let n = 3 * UPDATE_TIMERS_SLACK as u16;
        for p in 0..n {
            r.pkt(T0 + p as u64 * 1000, A, B, udp(1024 + p, 53), 60);
        }
        r.pkt(T0 + 30 * S, B, A, tcp(8080, 40000, 1, 1, ACK, b"x"), 60);
        r.pkt(T0 + 61 * S, B, A, tcp(8080, 40000, 2, 1, ACK, b"y"), 60);
        assert_eq!(tick(&mut r, T0 + 61 * S), []);
        assert_eq!(r.ended.len(), n as usize);
        // the ended flows' timers are swept out once they outnumber twice the open flows plus
        // the slack; the open flow's stays and comes due
        assert_eq!(r.t.update_timers.len(), 1);
        assert_eq!(tick(&mut r, T0 + 330 * S), [(n as u64 + 1, 2, 0)]);
    }

    /// A TLS ClientHello's first bytes (RFC 8446 §5.1 record header, §4 handshake type 1).
    const CLIENT_HELLO: &[u8] = &[22, 3, 1, 0, 0x2f, 1, 0, 0, 0x2b, 3, 3];
    /// DCE/RPC request PDU header (C706 §12.6.4.9: version 5.0, PTYPE 0, flags, drep, ...).
    const RPC_REQUEST: &[u8] = &[5, 0, 0, 3, 0x10, 0, 0, 0, 24, 0, 0, 0, 1, 0, 0, 0];
    const RPC_RESPONSE: &[u8] = &[5, 0, 2, 3, 0x10, 0, 0, 0, 24, 0, 0, 0, 1, 0, 0, 0];

    #[test]
    fn the_first_message_corrects_ends_guessed_from_ports() {
        // picked up mid-stream between two high ports: the port guess makes 50000 the client
        // (the higher port), but 40000 sends the ClientHello
        let mut r = Run::new(FlowConfig::default());
        r.pkt(T0, B, A, tcp(50000, 40000, 1, 1, ACK, b""), 60);
        r.pkt(
            T0 + 1,
            A,
            B,
            tcp(40000, 50000, 1, 1, ACK, CLIENT_HELLO),
            60 + CLIENT_HELLO.len() as u64,
        );
        r.flush();
        let f = &r.ended[0].0;
        assert_eq!((f.client, f.client_port, f.server_port), (Addr::v4(A), 40000, 50000));
        assert_eq!(f.orientation, Orientation::Payload);
        assert_eq!(f.pkts, [1, 1]);
        assert_eq!(f.bytes, [60 + CLIENT_HELLO.len() as u64, 60]);
        assert_eq!(f.app.proto_name(), Some("tls"));

        // a DCE/RPC response seen first, from the side the ports made the client
        let mut r = Run::new(FlowConfig::default());
        r.pkt(T0, B, A, tcp(50000, 40000, 1, 1, ACK, RPC_RESPONSE), 100);
        r.pkt(T0 + 1, A, B, tcp(40000, 50000, 1, 17, ACK, RPC_REQUEST), 100);
        r.flush();
        let f = &r.ended[0].0;
        assert_eq!(
            (f.client_port, f.server_port, f.orientation),
            (40000, 50000, Orientation::Payload)
        );
        assert_eq!(f.app.proto_name(), Some("dcerpc"));

        // the guess was right: nothing changes
        let mut r = Run::new(FlowConfig::default());
        r.pkt(T0, A, B, tcp(50000, 40000, 1, 1, ACK, RPC_REQUEST), 100);
        r.flush();
        let f = &r.ended[0].0;
        assert_eq!((f.client_port, f.orientation), (50000, Orientation::Port));
    }

    #[test]
    fn a_handshake_outranks_the_first_message() {
        // the SYN says 50000 is the client; a ClientHello from the other side does not move it
        let mut r = Run::new(FlowConfig::default());
        r.pkt(T0, B, A, tcp(50000, 40000, 100, 0, SYN, b""), 60);
        r.pkt(T0 + 1, A, B, tcp(40000, 50000, 7, 101, SA, b""), 60);
        r.pkt(T0 + 2, A, B, tcp(40000, 50000, 8, 101, ACK, CLIENT_HELLO), 80);
        r.flush();
        let f = &r.ended[0].0;
        assert_eq!((f.client_port, f.orientation), (50000, Orientation::Syn));
    }

    #[test]
    fn fin_closes_after_the_linger_and_the_last_ack_counts() {
        let mut r = Run::new(FlowConfig::default());
        handshake_and_close(&mut r, T0, 100);
        r.sweep(T0 + 4 * S);
        assert!(r.ended.is_empty(), "still lingering");
        r.sweep(T0 + 6 * S);
        assert_eq!(r.ended.len(), 1);
        let (f, why) = &r.ended[0];
        assert_eq!(*why, EndReason::Fin);
        assert_eq!((f.client, f.client_port, f.server_port), (Addr::v4(A), 40000, 8080));
        assert_eq!(f.orientation, Orientation::Syn);
        assert_eq!(f.pkts, [5, 3]);
        assert_eq!(f.bytes, [74 + 66 + 71 + 66 + 66, 74 + 72 + 66]);
        assert_eq!(f.tcp.state, Some(TcpState::Closed));
        assert_eq!(f.missing_bytes(), 0);
        assert_eq!(f.first_idx, 1);
        assert!(r.t.is_empty());
    }

    #[test]
    fn a_new_syn_after_close_starts_a_new_flow() {
        let mut r = Run::new(FlowConfig::default());
        handshake_and_close(&mut r, T0, 100);
        // same 5-tuple, new ISN, within the linger: the old flow ends, a new one starts
        r.pkt(T0 + 8, A, B, tcp(40000, 8080, 9_000_000, 0, SYN, b""), 74);
        assert_eq!(r.ended.len(), 1);
        assert_eq!(r.ended[0].1, EndReason::Fin);
        assert_eq!(r.ended[0].0.pkts, [5, 3]);
        // a retransmitted SYN (same ISN) stays in the new flow
        r.pkt(T0 + 9, A, B, tcp(40000, 8080, 9_000_000, 0, SYN, b""), 74);
        r.flush();
        assert_eq!(r.ended.len(), 2);
        assert_eq!(r.ended[1].0.pkts, [2, 0]);
        assert_eq!(r.ended[1].0.first_idx, 9);
        assert_eq!(r.ended[1].1, EndReason::EndOfInput);
        assert_eq!(r.ended[1].0.tcp.state, Some(TcpState::SynSent));
    }

    #[test]
    fn reset_ends_with_rst() {
        let mut r = Run::new(FlowConfig::default());
        r.pkt(T0, A, B, tcp(40001, 7009, 1, 0, SYN, b""), 74);
        r.pkt(T0 + 10, B, A, tcp(7009, 40001, 0, 2, RST | ACK, b""), 54);
        r.sweep(T0 + 6 * S);
        assert_eq!(r.ended.len(), 1);
        assert_eq!(r.ended[0].1, EndReason::Rst);
        assert_eq!(r.ended[0].0.tcp.state, Some(TcpState::Reset));
        assert_eq!(r.ended[0].0.pkts, [1, 1]);
    }

    #[test]
    fn mid_stream_flows_are_oriented_by_port() {
        let mut r = Run::new(FlowConfig::default());
        // first packet seen comes from the server (443)
        r.pkt(T0, B, A, tcp(443, 51000, 7, 9, ACK, b"data"), 70);
        // two registered ports: the lower one is the server's
        r.pkt(T0, A, B, tcp(6001, 3456, 7, 9, ACK, b"data"), 70);
        // equal ports: the first sender is the client
        r.pkt(T0, A, B, udp(5060, 5060), 60);
        r.flush();
        let by_port = |p: u16| {
            r.ended
                .iter()
                .find(|(f, _)| f.server_port == p || f.client_port == p)
                .unwrap()
        };
        let f = &by_port(443).0;
        assert_eq!(
            (f.client, f.client_port, f.server_port, f.orientation),
            (Addr::v4(A), 51000, 443, Orientation::Port)
        );
        assert_eq!(f.pkts, [0, 1]);
        assert_eq!(f.tcp.state, Some(TcpState::Midstream));
        let f = &by_port(6001).0;
        assert_eq!((f.client, f.client_port, f.server_port), (Addr::v4(B), 3456, 6001));
        let f = &by_port(5060).0;
        assert_eq!((f.client, f.orientation), (Addr::v4(A), Orientation::FirstSender));
    }

    #[test]
    fn a_handshake_seen_late_reorients_the_flow() {
        let mut r = Run::new(FlowConfig::default());
        // the port heuristic would make 40000 the server of 40000 <-> 50000
        r.pkt(T0, A, B, tcp(50000, 40000, 1, 0, ACK, b""), 60);
        r.pkt(T0 + 1, B, A, tcp(40000, 50000, 77, 0, SYN, b""), 74);
        r.flush();
        let f = &r.ended[0].0;
        assert_eq!(
            (f.client, f.client_port, f.orientation),
            (Addr::v4(B), 40000, Orientation::Syn)
        );
        assert_eq!(f.pkts, [1, 1]);
        assert_eq!(f.bytes, [74, 60]);
    }

    #[test]
    fn idle_timeouts_follow_the_last_packet() {
        let mut r = Run::new(FlowConfig::default());
        r.pkt(T0, A, B, udp(5353, 53), 80);
        r.pkt(T0 + 30 * S, B, A, udp(53, 5353), 90);
        r.pkt(T0, A, B, tcp(40000, 25, 1, 0, SYN, b""), 74);
        r.sweep(T0 + 89 * S);
        assert!(r.ended.is_empty(), "UDP idle 59 s");
        r.sweep(T0 + 90 * S);
        assert_eq!(r.ended.len(), 1);
        assert_eq!((r.ended[0].0.proto, r.ended[0].1), (IPPROTO_UDP, EndReason::Timeout));
        r.sweep(T0 + 299 * S);
        assert_eq!(r.ended.len(), 1, "TCP idle 299 s");
        r.sweep(T0 + 300 * S);
        assert_eq!(r.ended.len(), 2);
        assert_eq!((r.ended[1].0.proto, r.ended[1].1), (IPPROTO_TCP, EndReason::Timeout));
        assert_eq!(r.t.counters.timed_out, 2);
    }

    #[test]
    fn the_flow_cap_evicts_the_least_recently_active() {
        let cfg = FlowConfig {
            max_flows: 2,
            ..FlowConfig::default()
        };
        let mut r = Run::new(cfg);
        r.pkt(T0, A, B, udp(1001, 53), 60);
        r.pkt(T0 + S, A, B, udp(1002, 53), 60);
        r.pkt(T0 + 2 * S, A, B, udp(1001, 53), 60); // 1001 is now the more recent
        r.pkt(T0 + 3 * S, A, B, udp(1003, 53), 60);
        assert_eq!(r.ended.len(), 1);
        assert_eq!((r.ended[0].0.client_port, r.ended[0].1), (1002, EndReason::Evicted));
        assert_eq!(r.t.len(), 2);
        assert_eq!(r.t.counters.evicted, 1);
    }

    #[test]
    fn icmp_errors_count_in_the_quoted_flow() {
        let mut r = Run::new(FlowConfig::default());
        r.pkt(T0, A, B, tcp(40000, 25, 1, 0, SYN, b""), 74);
        // a router tells A that its packet to B:25 needs fragmentation
        let q = Quoted {
            src: Addr::v4(A),
            dst: Addr::v4(B),
            proto: 6,
            src_port: 40000,
            dst_port: 25,
        };
        r.pkt(T0 + 1, [192, 168, 1, 1], A, L4::IcmpError(q), 590);
        // one quoting a packet of no tracked flow
        let q2 = Quoted { src_port: 40001, ..q };
        r.pkt(T0 + 2, [192, 168, 1, 1], A, L4::IcmpError(q2), 590);
        r.flush();
        assert_eq!(r.ended.len(), 1);
        let f = &r.ended[0].0;
        assert_eq!((f.pkts, f.bytes, f.icmp_errors), ([2, 0], [74 + 590, 0], 1));
        assert_eq!(
            (r.t.counters.icmp_errors_matched, r.t.counters.icmp_errors_unmatched),
            (1, 1)
        );
    }

    #[test]
    fn a_hole_the_peer_acknowledged_is_counted_missing() {
        let mut r = Run::new(FlowConfig::default());
        r.pkt(T0, A, B, tcp(40000, 80, 100, 0, SYN, b""), 74);
        r.pkt(T0 + 1, B, A, tcp(80, 40000, 500, 101, SA, b""), 74);
        r.pkt(T0 + 2, A, B, tcp(40000, 80, 101, 501, ACK, b"0123456789"), 76);
        // bytes 111..121 were never captured; 121..126 arrive and are held
        r.pkt(T0 + 3, A, B, tcp(40000, 80, 121, 501, ACK, b"abcde"), 71);
        // the server acknowledged everything: the hole is given up
        r.pkt(T0 + 4, B, A, tcp(80, 40000, 501, 126, ACK, b""), 60);
        r.flush();
        let f = &r.ended[0].0;
        assert_eq!(f.missing_bytes(), 10);
        assert_eq!(f.tcp.reasm[TO_SERVER].delivered_bytes(), 15);
        assert_eq!(r.t.counters.reassembly_gaps, 1);
        assert_eq!(r.t.counters.missing_bytes, 10);
        assert_eq!(r.t.reassembly_held_bytes(), 0);
    }
}
