//! Expectations: the endpoints flows announced (see [`crate::flow::announce`]), each kept for
//! a bounded time, and the lookup a new flow goes through.

use std::collections::HashMap;

use crate::decode::Addr;
use crate::flow::announce::{Announced, Announcement};
pub use crate::flow::facts::FlowEnds;
use crate::flow::{IPPROTO_TCP, IPPROTO_UDP};
use crate::output::community_id_v1;

const NS: u64 = 1_000_000_000;
/// How long an endpoint-mapper answer is trusted: Outlook connects to the announced port at
/// once and again for as long as its profile is open; the server keeps the port until the
/// service restarts. Announcing again renews it.
pub const RPC_EXPECTATION_TTL_NS: u64 = 3600 * NS;
/// How long SDP-announced media ports are expected (a long call; a re-INVITE renews it).
pub const MEDIA_EXPECTATION_TTL_NS: u64 = 3600 * NS;
/// Expectations held at once; when full, expired ones are dropped first, then new ones are
/// refused (and counted) rather than old ones forgotten.
pub const MAX_EXPECTATIONS: usize = 65_536;

/// An expectation a flow matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub what: Announced,
    pub announced_ns: u64,
    pub by: String,
}

#[derive(Debug, Clone)]
struct Entry {
    expires_ns: u64,
    expected: Expected,
    by_idx: u64,
}

/// The table of live expectations.
#[derive(Debug, Default)]
pub struct Expectations {
    map: HashMap<(Addr, u16, u8), Entry>,
    /// Announcements not kept because the table was full.
    pub refused: u64,
}

impl Expectations {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Keep (or renew) what `a` announced.
    pub fn announce(&mut self, a: Announcement) {
        let ttl = match a.what {
            Announced::RpcEndpoint { .. } => RPC_EXPECTATION_TTL_NS,
            Announced::Media { .. } => MEDIA_EXPECTATION_TTL_NS,
        };
        let key = (a.addr, a.port, a.proto);
        if self.map.len() >= MAX_EXPECTATIONS && !self.map.contains_key(&key) {
            self.map.retain(|_, e| e.expires_ns > a.ts_ns);
            if self.map.len() >= MAX_EXPECTATIONS {
                self.refused += 1;
                return;
            }
        }
        let entry = Entry {
            expires_ns: a.ts_ns.saturating_add(ttl),
            expected: Expected {
                what: a.what,
                announced_ns: a.ts_ns,
                by: community_id_v1(
                    0,
                    a.by.client,
                    a.by.client_port,
                    a.by.server,
                    a.by.server_port,
                    a.by.proto,
                ),
            },
            by_idx: a.by_idx,
        };
        self.map.insert(key, entry);
    }

    /// The expectation a flow meets: its server endpoint was announced (for UDP media, and for
    /// a TCP flow whose ends are a port guess, either end: RTP has no client and server, and a
    /// port guess can swap them) before the flow began and has not expired, by another flow.
    /// A TCP flow oriented by its handshake or by its first message checks its server only.
    pub fn lookup(&self, f: &FlowEnds) -> Option<&Expected> {
        let live = |addr: Addr, port: u16| {
            self.map
                .get(&(addr, port, f.proto))
                .filter(|e| e.expected.announced_ns <= f.start_ns && f.start_ns <= e.expires_ns)
                .filter(|e| e.by_idx != f.first_idx)
                .map(|e| &e.expected)
        };
        match f.proto {
            IPPROTO_TCP if f.ends_known => live(f.server, f.server_port),
            IPPROTO_TCP => live(f.server, f.server_port).or_else(|| live(f.client, f.client_port)),
            IPPROTO_UDP => live(f.server, f.server_port).or_else(|| live(f.client, f.client_port)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::announce::FlowTuple;

    fn a(ip: [u8; 4]) -> Addr {
        Addr::v4(ip)
    }

    fn epm(ts: u64, port: u16) -> Announcement {
        Announcement {
            ts_ns: ts,
            addr: a([10, 0, 0, 5]),
            port,
            proto: IPPROTO_TCP,
            what: Announced::RpcEndpoint {
                interface: "a4f1db00-ca47-1067-b31f-00dd010662da".into(),
                version: 0,
                name: Some("EMSMDB"),
            },
            by_idx: 1,
            by: FlowTuple {
                client: a([10, 0, 0, 9]),
                client_port: 49999,
                server: a([10, 0, 0, 5]),
                server_port: 135,
                proto: IPPROTO_TCP,
            },
        }
    }

    fn flow(start: u64, port: u16) -> FlowEnds {
        FlowEnds {
            client: a([10, 0, 0, 9]),
            client_port: 50000,
            server: a([10, 0, 0, 5]),
            server_port: port,
            proto: IPPROTO_TCP,
            start_ns: start,
            first_idx: 7,
            handshake_seen: true,
            ends_known: true,
        }
    }

    #[test]
    fn a_flow_after_the_answer_matches_one_before_does_not() {
        let mut e = Expectations::default();
        e.announce(epm(100 * NS, 6001));
        assert!(e.lookup(&flow(99 * NS, 6001)).is_none(), "began before the answer");
        let m = e.lookup(&flow(101 * NS, 6001)).expect("matches");
        assert!(m.by.starts_with("1:"), "the announcer's Community ID: {}", m.by);
        assert!(matches!(
            &m.what,
            Announced::RpcEndpoint {
                name: Some("EMSMDB"),
                ..
            }
        ));
        assert!(e.lookup(&flow(101 * NS, 6002)).is_none(), "other port");
        let mut udp = flow(101 * NS, 6001);
        udp.proto = IPPROTO_UDP;
        assert!(e.lookup(&udp).is_none(), "other transport");
        assert!(
            e.lookup(&flow(100 * NS + RPC_EXPECTATION_TTL_NS + 1, 6001)).is_none(),
            "expired"
        );
        let mut own = flow(101 * NS, 6001);
        own.first_idx = 1;
        assert!(e.lookup(&own).is_none(), "the announcing flow itself");
        // picked up mid-stream, the port guess made the announced server the client
        let mut swapped = flow(101 * NS, 50000);
        (swapped.client_port, swapped.server_port) = (6001, 50000);
        (swapped.client, swapped.server) = (swapped.server, swapped.client);
        assert!(e.lookup(&swapped).is_none(), "a handshake says who the server is");
        swapped.handshake_seen = false;
        swapped.ends_known = false;
        assert!(
            e.lookup(&swapped).is_some(),
            "without one, either end may be the announced one"
        );
        swapped.ends_known = true;
        assert!(
            e.lookup(&swapped).is_none(),
            "the first message said who the server is (client_from payload)"
        );
    }

    #[test]
    fn media_matches_either_end() {
        let mut e = Expectations::default();
        e.announce(Announcement {
            ts_ns: NS,
            addr: a([192, 168, 1, 2]),
            port: 30000,
            proto: IPPROTO_UDP,
            what: Announced::Media {
                call_id: "c1".into(),
                media: "audio".into(),
                srtp: false,
            },
            by_idx: 3,
            by: FlowTuple::default(),
        });
        // RTP from the announced port to the far end, oriented the other way round
        let f = FlowEnds {
            client: a([192, 168, 1, 2]),
            client_port: 30000,
            server: a([212, 242, 33, 36]),
            server_port: 40392,
            proto: IPPROTO_UDP,
            start_ns: 2 * NS,
            first_idx: 9,
            handshake_seen: false,
            ends_known: false,
        };
        assert!(e.lookup(&f).is_some());
    }

    #[test]
    fn the_table_is_bounded() {
        let mut e = Expectations::default();
        for i in 0..(MAX_EXPECTATIONS + 5) {
            let mut x = epm(NS, (i % 65536) as u16);
            x.addr = Addr::v4([10, (i >> 16) as u8, 0, 1]);
            e.announce(x);
        }
        assert_eq!(e.len(), MAX_EXPECTATIONS);
        assert_eq!(e.refused, 5);
        // once the old ones expired, new ones are kept again
        let late = epm(NS + RPC_EXPECTATION_TTL_NS + 1, 1);
        e.announce(Announcement {
            addr: Addr::v4([172, 16, 0, 1]),
            ..late
        });
        assert_eq!(e.len(), 1);
    }
}
