//! Run statistics: counters from every worker, merged, and the `stats` record.

use hdrhistogram::Histogram;

use super::json::{Obj, rfc3339};
use crate::capture::Damage;
use crate::decode::{DecodeError, Tunnel, TunnelKind};
use crate::flow::FlowCounters;

/// Highest per-packet time the histogram tracks (ns); slower samples are clamped to it.
pub const MAX_TRACKED_PACKET_NS: u64 = 10_000_000_000;
/// One packet in this many has its processing time measured (reading the clock costs about
/// as much as decoding a packet, so it is sampled).
pub const PACKET_TIME_SAMPLE_EVERY: u64 = 16;

/// Flows by `app_proto` (and, for upgraded flows, by the protocol they upgraded from).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppCounts {
    /// (`app_proto`, `app_proto_orig`) and the number of flows, in first-seen order.
    pub by_proto: Vec<(&'static str, Option<&'static str>, u64)>,
    /// Flows no parser claimed (with payload or without).
    pub unknown: u64,
}

impl AppCounts {
    pub fn count(&mut self, a: &crate::flow::app::AppLayer) {
        match a.proto_name() {
            Some(p) => self.add_one(p, a.orig_name(), 1),
            None => self.unknown += 1,
        }
    }

    fn add_one(&mut self, p: &'static str, orig: Option<&'static str>, n: u64) {
        match self.by_proto.iter_mut().find(|(q, o, _)| *q == p && *o == orig) {
            Some(e) => e.2 += n,
            None => self.by_proto.push((p, orig, n)),
        }
    }

    pub fn add(&mut self, o: &AppCounts) {
        for &(p, orig, n) in &o.by_proto {
            self.add_one(p, orig, n);
        }
        self.unknown += o.unknown;
    }
}

/// Counters of a run (or of one worker, merged at the end).
#[derive(Debug, Clone)]
pub struct Stats {
    /// Frames read from the inputs.
    pub frames: u64,
    /// Their original length on the wire.
    pub bytes: u64,
    pub decode_errors: [u64; DecodeError::COUNT],
    /// Packets (frames, or datagrams reassembled from fragments) a tunnel layer of each kind
    /// was removed from, by [`TunnelKind::index`].
    pub decapsulated: [u64; TunnelKind::COUNT],
    /// Frames whose tunnel header of each kind was cut short or malformed (also counted in
    /// `decode_errors` as `tunnel_header`).
    pub tunnel_malformed: [u64; TunnelKind::COUNT],
    /// Link types seen that we do not decode, with counts.
    pub unsupported_link_types: Vec<(u16, u64)>,
    /// IP packets of a protocol that is not followed as a flow (ICMP, GRE, ESP…).
    pub other_ip_packets: u64,
    pub fragments: u64,
    pub fragments_reassembled: u64,
    pub fragments_dropped: u64,
    pub fragments_timed_out: u64,
    pub flows: FlowCounters,
    /// Ended flows by the protocol their parser found.
    pub apps: AppCounts,
    pub packet_time_ns: Histogram<u64>,
    pub first_ts_ns: Option<u64>,
    pub last_ts_ns: Option<u64>,
    /// From the classify stage (filled once, by the writer).
    pub expectations: ExpectationCounts,
    /// Findings raised, by kind (every kind, in [`crate::classify::findings::Kind::ALL`]
    /// order), and hosts whose role was inferred (from the classify stage).
    pub findings: Vec<(&'static str, u64)>,
    pub roles_inferred: u64,
    /// Gauges at the moment of the record: flows open, bytes held out of order by TCP
    /// reassembly, bytes held by IP fragment reassembly (summed over workers).
    pub active_flows: u64,
    pub reassembly_held_bytes: u64,
    pub fragment_held_bytes: u64,
    /// libpcap's counts of a live capture.
    #[cfg(feature = "live")]
    pub live: Option<crate::capture::live::LiveStats>,
}

/// Endpoints announced by flows, and the flows that matched one.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExpectationCounts {
    pub announced: u64,
    pub flows_matched: u64,
    /// Not kept: the table was full.
    pub refused: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            frames: 0,
            bytes: 0,
            decode_errors: [0; DecodeError::COUNT],
            decapsulated: [0; TunnelKind::COUNT],
            tunnel_malformed: [0; TunnelKind::COUNT],
            unsupported_link_types: Vec::new(),
            other_ip_packets: 0,
            fragments: 0,
            fragments_reassembled: 0,
            fragments_dropped: 0,
            fragments_timed_out: 0,
            flows: FlowCounters::default(),
            apps: AppCounts::default(),
            packet_time_ns: Histogram::new_with_bounds(1, MAX_TRACKED_PACKET_NS, 2).expect("static histogram bounds"),
            first_ts_ns: None,
            last_ts_ns: None,
            expectations: ExpectationCounts::default(),
            findings: Vec::new(),
            roles_inferred: 0,
            active_flows: 0,
            reassembly_held_bytes: 0,
            fragment_held_bytes: 0,
            #[cfg(feature = "live")]
            live: None,
        }
    }
}

impl Stats {
    pub fn decode_error(&mut self, e: DecodeError) {
        self.decode_errors[e.index()] += 1;
        if let DecodeError::TunnelHeader(k) = e {
            self.tunnel_malformed[k.index()] += 1;
        }
        if let DecodeError::UnsupportedLinkType(lt) = e {
            match self.unsupported_link_types.iter_mut().find(|(t, _)| *t == lt) {
                Some((_, n)) => *n += 1,
                None => self.unsupported_link_types.push((lt, 1)),
            }
        }
    }

    /// Count the tunnel layers removed from one packet.
    #[inline]
    pub fn decapsulated(&mut self, layers: &[Tunnel]) {
        for t in layers {
            self.decapsulated[t.kind.index()] += 1;
        }
    }

    pub fn record_packet_time(&mut self, ns: u64) {
        let _ = self.packet_time_ns.record(ns.clamp(1, MAX_TRACKED_PACKET_NS));
    }

    pub fn merge(&mut self, o: &Stats) {
        self.frames += o.frames;
        self.bytes += o.bytes;
        for (a, b) in self.decode_errors.iter_mut().zip(o.decode_errors.iter()) {
            *a += b;
        }
        for (a, b) in self.decapsulated.iter_mut().zip(o.decapsulated.iter()) {
            *a += b;
        }
        for (a, b) in self.tunnel_malformed.iter_mut().zip(o.tunnel_malformed.iter()) {
            *a += b;
        }
        for &(lt, n) in &o.unsupported_link_types {
            match self.unsupported_link_types.iter_mut().find(|(t, _)| *t == lt) {
                Some((_, m)) => *m += n,
                None => self.unsupported_link_types.push((lt, n)),
            }
        }
        self.other_ip_packets += o.other_ip_packets;
        self.fragments += o.fragments;
        self.fragments_reassembled += o.fragments_reassembled;
        self.fragments_dropped += o.fragments_dropped;
        self.fragments_timed_out += o.fragments_timed_out;
        self.flows.add(&o.flows);
        self.apps.add(&o.apps);
        let _ = self.packet_time_ns.add(&o.packet_time_ns);
        self.first_ts_ns = match (self.first_ts_ns, o.first_ts_ns) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_ts_ns = self.last_ts_ns.max(o.last_ts_ns);
        self.active_flows += o.active_flows;
        self.reassembly_held_bytes += o.reassembly_held_bytes;
        self.fragment_held_bytes += o.fragment_held_bytes;
    }

    /// Append the `stats` record (without the newline). `damage` is where the input stopped;
    /// `last` tells the record at the end of the run from a periodic one (`--stats-interval`),
    /// whose counters are the run's so far.
    pub fn write(&self, buf: &mut Vec<u8>, inputs: &[String], damage: Option<(&str, &Damage)>, last: bool) {
        let mut o = Obj::new(buf);
        o.str("event_type", "stats");
        o.bool("final", last);
        match self.last_ts_ns {
            Some(t) => o.str("timestamp", &rfc3339(t)),
            None => o.null("timestamp"),
        };
        o.obj("capture", |c| {
            c.raw("inputs", &serde_json::to_string(inputs).unwrap_or_else(|_| "[]".into()));
            match damage {
                Some((input, d)) => c.obj("damaged", |o| {
                    o.str("input", input).u64("offset", d.offset).str("reason", &d.reason);
                }),
                None => c.null("damaged"),
            };
            match self.first_ts_ns {
                Some(t) => c.str("first_packet", &rfc3339(t)),
                None => c.null("first_packet"),
            };
            match self.last_ts_ns {
                Some(t) => c.str("last_packet", &rfc3339(t)),
                None => c.null("last_packet"),
            };
        });
        o.u64("packets", self.frames).u64("bytes", self.bytes);
        let fl = &self.flows;
        o.obj("flows", |f| {
            f.u64("total", fl.tcp_flows + fl.udp_flows)
                .u64("tcp", fl.tcp_flows)
                .u64("udp", fl.udp_flows)
                .u64("timed_out", fl.timed_out)
                .u64("evicted", fl.evicted)
                .u64("active", self.active_flows)
                .u64("peak_active", fl.peak_flows);
        });
        o.obj("memory", |m| {
            m.u64("tcp_reassembly_bytes", self.reassembly_held_bytes)
                .u64("ip_fragment_bytes", self.fragment_held_bytes);
        });
        // flows by app_proto; an upgraded flow counts as `<orig>_starttls` (e.g. smtp_starttls)
        o.obj("app_protos", |a| {
            for &(p, orig, n) in &self.apps.by_proto {
                match orig {
                    Some(orig) => a.u64(&format!("{orig}_starttls"), n),
                    None => a.u64(p, n),
                };
            }
            a.u64("none", self.apps.unknown);
        });
        #[cfg(feature = "live")]
        if let Some(l) = &self.live {
            o.obj("capture_drops", |x| {
                x.u64("received", l.received)
                    .u64("kernel_dropped", l.dropped)
                    .u64("interface_dropped", l.if_dropped)
                    .u64("queue_dropped", l.queue_dropped);
            });
        }
        let e = &self.expectations;
        o.obj("expectations", |x| {
            x.u64("announced", e.announced)
                .u64("flows_matched", e.flows_matched)
                .u64("refused", e.refused);
        });
        o.obj("findings", |x| {
            for (k, n) in &self.findings {
                x.u64(k, *n);
            }
        });
        o.u64("roles_inferred", self.roles_inferred);
        o.u64("other_ip_packets", self.other_ip_packets);
        o.obj("icmp_errors", |d| {
            d.u64("in_flows", fl.icmp_errors_matched)
                .u64("no_flow", fl.icmp_errors_unmatched);
        });
        o.obj("decode_errors", |d| {
            for (name, n) in DecodeError::NAMES.iter().zip(self.decode_errors.iter()) {
                d.u64(name, *n);
            }
        });
        // tunnel layers removed and tunnel headers refused, by kind (every kind listed)
        o.obj("tunnels", |t| {
            t.obj("decapsulated", |d| {
                for k in TunnelKind::ALL {
                    d.u64(k.name(), self.decapsulated[k.index()]);
                }
            });
            t.obj("malformed", |d| {
                for k in TunnelKind::ALL {
                    d.u64(k.name(), self.tunnel_malformed[k.index()]);
                }
            });
        });
        if !self.unsupported_link_types.is_empty() {
            let mut lts = self.unsupported_link_types.clone();
            lts.sort_unstable();
            o.obj("unsupported_link_types", |d| {
                for (lt, n) in &lts {
                    d.u64(&lt.to_string(), *n);
                }
            });
        }
        o.obj("ip_fragments", |d| {
            d.u64("frames", self.fragments)
                .u64("reassembled", self.fragments_reassembled)
                .u64("dropped", self.fragments_dropped)
                .u64("timed_out", self.fragments_timed_out);
        });
        o.obj("tcp_reassembly", |d| {
            d.u64("gaps", fl.reassembly_gaps)
                .u64("missing_bytes", fl.missing_bytes)
                .u64("retransmitted_segments", fl.retransmitted_segments)
                .u64("out_of_order_segments", fl.ooo_segments);
        });
        let h = &self.packet_time_ns;
        o.obj("packet_time_ns", |d| {
            d.u64("samples", h.len()).u64("sample_every", PACKET_TIME_SAMPLE_EVERY);
            if h.is_empty() {
                d.null("p50").null("p90").null("p99").null("p99_9").null("max");
            } else {
                d.u64("p50", h.value_at_quantile(0.5))
                    .u64("p90", h.value_at_quantile(0.9))
                    .u64("p99", h.value_at_quantile(0.99))
                    .u64("p99_9", h.value_at_quantile(0.999))
                    .u64("max", h.max());
            }
        });
        o.close();
    }
}
