//! Layer 6 — output: JSON lines, one object per line; `event_type` tells the kind.
//!
//! # Format
//!
//! `flow` — written when a flow ends (FIN/RST after a short linger, idle timeout, eviction,
//! end of input, shutdown), and for a long-lived flow also every `--flow-update-interval` while
//! it lasts (`--flow-update-interval`: 300 s in `exwatch live`, off in `read`; an *interim* record: the flow so far, counters from its start,
//! `end` its last packet yet, `end_reason` `null`, `interim` `true`):
//!
//! | field | meaning |
//! |---|---|
//! | `timestamp`, `end` | first and last packet, RFC 3339 UTC with microseconds |
//! | `duration_s` | `end - timestamp` in seconds |
//! | `community_id` | Community ID v1, seed 0 |
//! | `src_ip`, `src_port`, `dst_ip`, `dst_port` | the client (`src`) and server (`dst`) |
//! | `client_from` | how the client was chosen: `syn`, `syn_ack`, `port` (the well-known or lower port is the server's), `first_sender` |
//! | `transport` | `tcp` or `udp` |
//! | `vlan` | VLAN ids, outermost first (of the outer frame, then of Ethernet frames inside tunnels; two at most), or `null` |
//! | `tunnel` | the encapsulations the flow's first packet came through, outermost first, or `null` for plain traffic: one object per layer with `kind` and the layer's own fields: `gre` (`src`, `dst` of the carrying IP header, `key` or `null`), `erspan` (`src`, `dst`, `version` 0/1/2 for types I/II/III, `session`, `key` or `null`), `vxlan` and `geneve` (`src`, `dst`, `vni`), `gtpu` (`src`, `dst`, `teid`), `ipip` (`src`, `dst`, `proto` 4 or 41), `mpls` (`labels`, the first four from the top, and `depth`), `pppoe` (`session`), `teredo` (`src`, `dst`), `ayiya` (`src`, `dst`, `proto` 4 or 41); PPTP's GRE (version 1, PPP) is `gre` with the call id as `key`. The addresses, ports and Community ID of the record are the innermost packet's; bytes count whole frames, outer headers included |
//! | `pkts_toserver`, `pkts_toclient`, `bytes_toserver`, `bytes_toclient` | frames and their original length on the wire (link header included; every IP fragment counts) |
//! | `end_reason` | `fin`, `rst`, `timeout`, `evicted`, `end_of_input`, `shutdown`; `null` on an interim record |
//! | `interim`, `updates` | `true` on an interim record; how many interim records of this flow came before this one (on the final record: all of them) |
//! | `missing_bytes` | TCP payload bytes never captured (reassembly gaps), both directions |
//! | `ip_fragments` | `{frames, datagrams}` when the flow's packets came in IP fragments, else `null` |
//! | `icmp_errors` | ICMP error frames that quote a packet of this flow (counted in `pkts_*`/`bytes_*`, in the quoted packet's direction) |
//! | `tcp` | `state` (`syn_sent`, `syn_received`, `established`, `midstream`, `closing`, `closed`, `reset`) and the TCP flags seen each way (`flags_toserver`, `flags_toclient`, letters `SAFRPUEC`); `null` for UDP |
//! | `smtp`, `tls`, `ldap`, `http`, `imap`, `pop3`, `dcerpc`, `sip` | one object per protocol seen on the flow (an upgraded flow has both), fields in [`smtp`], [`tls`], [`ldap`], [`http`], [`imap`], [`pop3`], [`dcerpc`], [`sip`] |
//! | `app_proto`, `app_proto_orig` | (written by the classify stage, after the protocol objects) the parser that owns the flow (`smtp`, `tls`, `ldap`, `http`, `imap`, `pop3`, `dcerpc`, `sip`), chosen by probing the payload on any port; `null` while none claims it. After a STARTTLS-style upgrade `app_proto` is `tls` and `app_proto_orig` the clear-text protocol (`smtp`, `ldap`, `imap`, `pop3`), else `null` |
//! | `encrypted`, `encryption` | `tls`; `starttls` (upgraded in band); `rpc-privacy` (every authenticated DCE/RPC PDU at packet privacy); `ldap-sasl-seal` / `ldap-sasl-sign` (SASL security layer after the bind; signing alone leaves `encrypted` false); `none` (clear text); both `null` while no parser claims the flow |
//! | `expected`, `data_path`, `findings` | from the classify stage: see [`crate::classify`] |
//!
//! `--format ecs` writes each of these records as an Elastic Common Schema event instead
//! ([`ecs`] has the mapping); the human summary of a run ([`summary`]) goes to stderr or a file
//! of its own, never into the records.
//!
//! `stats` — one at the end of the run: frames and bytes read, flows by transport and by
//! application protocol (`app_protos`: `smtp`, `tls`, `ldap`, `smtp_starttls`, ..., `none`),
//! `expectations` (endpoints `announced` by flows, `flows_matched`, `refused` when the table was
//! full), `findings` (raised, by kind: every kind listed), `roles_inferred` (hosts), decode
//! errors by kind (`tunnel_header`: a tunnel header cut short or malformed; `tunnel_too_deep`:
//! more than `MAX_TUNNEL_DEPTH` nested layers), `tunnels` (`decapsulated`: packets a layer of
//! each kind was removed from, a reassembled datagram once; `malformed`: refused headers, by
//! kind), IP fragment reassembly, TCP reassembly gaps, evictions and timeouts, and
//! percentiles of per-packet processing time (sampled, nanoseconds), plus the capture damage if
//! the input stopped early.

pub mod community_id;
pub mod dcerpc;
pub mod ecs;
pub mod http;
pub mod imap;
pub mod json;
pub mod ldap;
pub mod pop3;
pub mod sink;
pub mod sip;
pub mod smtp;
pub mod stats;
pub mod summary;
pub mod tls;

use crate::decode::{Tunnel, TunnelKind};
use crate::flow::app::{App, AppLayer};
use crate::flow::{EndReason, Flow, TO_CLIENT, TO_SERVER};
use json::Obj;

pub use community_id::community_id_v1;
pub use stats::Stats;
pub use summary::{Summary, SummaryFlow};

/// How records are written: the native schema above (the default), or Elastic Common Schema
/// events translated from it ([`ecs`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Native,
    Ecs,
}

/// Letters for the TCP flag bits, in bit order (FIN first).
const TCP_FLAG_LETTERS: [char; 8] = ['F', 'S', 'R', 'P', 'A', 'U', 'E', 'C'];

/// The flags in `bits` as letters, SYN first as Zeek and Suricata readers expect.
fn tcp_flags(bits: u8) -> String {
    let order = [1usize, 4, 0, 2, 3, 5, 6, 7];
    order
        .iter()
        .filter(|&&b| bits & (1 << b) != 0)
        .map(|&b| TCP_FLAG_LETTERS[b])
        .collect()
}

/// Append one `flow` record to `buf`, open: the classify stage adds `expected`, `data_path`
/// and `findings` and closes it ([`crate::classify::Classifier::finish_record`]). `reason`
/// `None` writes an interim record of a flow still open.
pub fn write_flow(buf: &mut Vec<u8>, f: &Flow, reason: Option<EndReason>) {
    let mut o = Obj::new(buf);
    o.str("event_type", "flow")
        .time("timestamp", f.start_ns)
        .time("end", f.last_ns)
        // the difference of the two times as written (both cut to microseconds)
        .secs_us(
            "duration_s",
            (f.last_ns / 1000).saturating_sub(f.start_ns / 1000) * 1000,
        )
        .str(
            "community_id",
            &community_id_v1(0, f.client, f.client_port, f.server, f.server_port, f.proto),
        )
        .display("src_ip", f.client.to_ip())
        .u64("src_port", f.client_port as u64)
        .display("dst_ip", f.server.to_ip())
        .u64("dst_port", f.server_port as u64)
        .str("client_from", f.orientation.as_str())
        .str("transport", if f.is_tcp() { "tcp" } else { "udp" });
    if f.vlan_count > 0 {
        o.u64_array("vlan", f.vlan[..f.vlan_count as usize].iter().map(|&v| v as u64));
    } else {
        o.null("vlan");
    }
    match &f.tunnel {
        Some(t) => o.obj_array("tunnel", t.as_slice(), write_tunnel),
        None => o.null("tunnel"),
    };
    o.u64("pkts_toserver", f.pkts[TO_SERVER])
        .u64("pkts_toclient", f.pkts[TO_CLIENT])
        .u64("bytes_toserver", f.bytes[TO_SERVER])
        .u64("bytes_toclient", f.bytes[TO_CLIENT])
        .opt_str("end_reason", reason.map(EndReason::as_str))
        .bool("interim", reason.is_none())
        .u64("updates", f.updates as u64)
        .u64("missing_bytes", f.missing_bytes());
    if f.ip_fragments > 0 {
        o.obj("ip_fragments", |d| {
            d.u64("frames", f.ip_fragments).u64("datagrams", f.ip_datagrams);
        });
    } else {
        o.null("ip_fragments");
    }
    o.u64("icmp_errors", f.icmp_errors);
    if f.is_tcp() {
        o.obj("tcp", |t| {
            t.str("state", f.tcp.state.map(|s| s.as_str()).unwrap_or("midstream"))
                .str("flags_toserver", &tcp_flags(f.tcp.flags[TO_SERVER]))
                .str("flags_toclient", &tcp_flags(f.tcp.flags[TO_CLIENT]));
        });
    } else {
        o.null("tcp");
    }
    write_app(&mut o, &f.app);
}

/// One object of the `tunnel` array.
fn write_tunnel(o: &mut Obj<'_>, t: &Tunnel) {
    o.str("kind", t.kind.name());
    if let Some((src, dst)) = t.outer() {
        o.display("src", src.to_ip()).display("dst", dst.to_ip());
    }
    let id = |o: &mut Obj<'_>, k: &str, v: Option<u32>| {
        match v {
            Some(v) => o.u64(k, v as u64),
            None => o.null(k),
        };
    };
    match t.kind {
        TunnelKind::Gre => id(o, "key", t.id),
        TunnelKind::Erspan => {
            o.u64("version", t.version as u64);
            id(o, "session", t.id);
            id(o, "key", t.key);
        }
        TunnelKind::Vxlan | TunnelKind::Geneve => id(o, "vni", t.id),
        TunnelKind::Gtpu => id(o, "teid", t.id),
        TunnelKind::Ipip => id(o, "proto", t.id),
        TunnelKind::Mpls => {
            o.u64_array("labels", t.labels().iter().map(|&l| l as u64));
            o.u64("depth", t.label_count as u64);
        }
        TunnelKind::Pppoe => id(o, "session", t.id),
        // the outer addresses are the Teredo client's and server's or relay's
        TunnelKind::Teredo => {}
        TunnelKind::Ayiya => id(o, "proto", t.id),
    }
}

/// One object per parsed protocol (`app_proto` and `encryption` are the classify stage's).
fn write_app(o: &mut Obj<'_>, a: &AppLayer) {
    for app in [a.before_tls.as_ref(), Some(&a.app)].into_iter().flatten() {
        match app {
            App::Smtp(s) => o.obj("smtp", |o| smtp::write_smtp(o, s.summary())),
            App::Tls(s) => o.obj("tls", |o| tls::write_tls(o, s.summary())),
            App::Ldap(s) => o.obj("ldap", |o| ldap::write_ldap(o, s.summary())),
            App::Http(s) => o.obj("http", |o| http::write_http(o, s.summary())),
            App::Imap(s) => o.obj("imap", |o| imap::write_imap(o, s.summary())),
            App::Pop3(s) => o.obj("pop3", |o| pop3::write_pop3(o, s.summary())),
            App::Dcerpc(s) => o.obj("dcerpc", |o| dcerpc::write_dcerpc(o, s.summary())),
            App::Sip(s) => o.obj("sip", |o| sip::write_sip(o, s.summary())),
            App::Probing | App::Unknown => o,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_letters() {
        assert_eq!(tcp_flags(0x02), "S");
        assert_eq!(tcp_flags(0x12), "SA");
        assert_eq!(tcp_flags(0x1b), "SAFP");
        assert_eq!(tcp_flags(0x14), "AR");
        assert_eq!(tcp_flags(0), "");
    }
}
