//! Layer 5 — classify: what a flow is in Exchange terms.
//!
//! Runs once per flow record in the writer stage, where the records and announcements of every
//! worker meet in capture order: a flow sharded to one worker can be labelled by an
//! announcement made on a flow of another worker, and the answer is the same for every
//! `--threads N`. The pipeline hands it, per tick, first every announcement made in the tick,
//! then the tick's finished flows in the order they began.
//!
//! Today: expectations ([`expect`]): a flow to an endpoint that an endpoint-mapper answer or an
//! SDP body announced gets `expected`; the data-path catalog ([`catalog`]) gives each flow the
//! documented paths its server port can belong to. To come: roles, exact labels, findings.
//!
//! | field | meaning |
//! |---|---|
//! | `app_proto`, `app_proto_orig`, `encrypted`, `encryption` | the parser's verdict (see [`crate::output`]); a flow no parser claimed that meets an expectation is `rtp` (SDP; `encryption` `srtp` or `none`) or `dcerpc` (endpoint mapper) |
//! | `expected` | `null`, or how an earlier flow announced this flow's endpoint: `by` (`epm`, `sdp`), `announced_at` (time), `announcer` (that flow's Community ID), and for `epm` the `interface` (UUID), `interface_version`, `interface_name`; for `sdp` the `call_id`, `media`, `srtp` |
//! | `data_path` | `null` when no catalog entry ([`catalog`]) has the flow's transport and server port; else `candidates` (the ids of those entries, in catalog order) and `match`: `port` (roles are not known yet, so never `exact`) |
//! | `findings` | findings raised on this flow (to come) |

pub mod catalog;
pub mod expect;
pub mod inventory;
pub mod label;
pub mod roles;

use std::sync::Arc;

use crate::flow::announce::{Announced, Announcement};
use crate::output::json::Obj;
pub use catalog::Catalog;
pub use expect::{Expectations, Expected, FlowEnds};

/// What the classify stage needs of a finished flow (the worker fills it; small and owned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowFacts {
    pub ends: FlowEnds,
    /// The parser's verdict (`None` when no parser claimed the flow).
    pub app_proto: Option<&'static str>,
    pub app_proto_orig: Option<&'static str>,
    /// `encryption` value and whether it hides the content.
    pub encryption: Option<(&'static str, bool)>,
}

/// The classify stage's state across the whole run.
#[derive(Debug)]
pub struct Classifier {
    pub catalog: Arc<Catalog>,
    pub expectations: Expectations,
    /// Announcements received.
    pub announced: u64,
    /// Flows that matched an expectation.
    pub expected_flows: u64,
}

impl Default for Classifier {
    fn default() -> Self {
        Classifier::new(Catalog::embedded())
    }
}

impl Classifier {
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Classifier {
            catalog,
            expectations: Expectations::default(),
            announced: 0,
            expected_flows: 0,
        }
    }

    /// One announcement (the pipeline sorts a tick's announcements by time, then announcer).
    pub fn announce(&mut self, a: Announcement) {
        self.announced += 1;
        self.expectations.announce(a);
    }

    /// The counts for the stats record.
    pub fn counts(&self) -> crate::output::stats::ExpectationCounts {
        crate::output::stats::ExpectationCounts {
            announced: self.announced,
            flows_matched: self.expected_flows,
            refused: self.expectations.refused,
        }
    }

    /// Append the classification fields of one flow record to `buf`, whose record body is open
    /// (written by [`crate::output::write_flow`]), and close the record.
    ///
    /// A flow no parser claimed takes its protocol from an expectation it meets: `rtp` for SDP
    /// media (`encryption` `srtp` when SRTP was negotiated, else `none`), `dcerpc` for an
    /// endpoint-mapper answer (its encryption unknown: the bind was not seen).
    pub fn finish_record(&mut self, f: &FlowFacts, buf: &mut Vec<u8>) {
        let expected = self.expectations.lookup(&f.ends);
        let (mut proto, mut enc) = (f.app_proto, f.encryption);
        if let (None, Some(e)) = (proto, expected) {
            match &e.what {
                Announced::Media { srtp, .. } => {
                    proto = Some("rtp");
                    enc = Some(if *srtp { ("srtp", true) } else { ("none", false) });
                }
                Announced::RpcEndpoint { .. } => proto = Some("dcerpc"),
            }
        }
        let mut o = Obj::resume(buf);
        o.opt_str("app_proto", proto)
            .opt_str("app_proto_orig", f.app_proto_orig);
        match enc {
            Some((e, hidden)) => o.bool("encrypted", hidden).str("encryption", e),
            None => o.null("encrypted").null("encryption"),
        };
        match expected {
            Some(e) => {
                self.expected_flows += 1;
                o.obj("expected", |x| write_expected(x, e));
            }
            None => {
                o.null("expected");
            }
        }
        write_data_path(&mut o, &self.catalog, &f.ends);
        o.raw("findings", "[]");
        o.close();
    }
}

/// `data_path`: the catalog entries whose transport and ports hold the flow's server port, or
/// `null`. Roles are not known yet, so the match is never more than `port`.
fn write_data_path(o: &mut Obj<'_>, catalog: &Catalog, f: &FlowEnds) {
    let c = catalog.port_candidates(f.proto, f.server_port);
    if c.len() == 0 {
        o.null("data_path");
        return;
    }
    o.obj("data_path", |x| {
        x.str_array("candidates", c.map(|e| e.id.as_str())).str("match", "port");
    });
}

fn write_expected(o: &mut Obj<'_>, e: &Expected) {
    match &e.what {
        Announced::RpcEndpoint {
            interface,
            version,
            name,
        } => {
            o.str("by", "epm")
                .time("announced_at", e.announced_ns)
                .str("announcer", &e.by)
                .str("interface", interface)
                .u64("interface_version", *version as u64)
                .opt_str("interface_name", *name);
        }
        Announced::Media { call_id, media, srtp } => {
            o.str("by", "sdp")
                .time("announced_at", e.announced_ns)
                .str("announcer", &e.by)
                .str("call_id", call_id)
                .str("media", media)
                .bool("srtp", *srtp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Addr;
    use crate::flow::announce::FlowTuple;
    use crate::flow::{IPPROTO_TCP, IPPROTO_UDP};

    const NS: u64 = 1_000_000_000;

    fn facts(proto: u8, port: u16, app: Option<&'static str>) -> FlowFacts {
        FlowFacts {
            ends: FlowEnds {
                client: Addr::v4([10, 0, 0, 9]),
                client_port: 50000,
                server: Addr::v4([10, 0, 0, 5]),
                server_port: port,
                proto,
                start_ns: 10 * NS,
                first_idx: 20,
                handshake_seen: true,
            },
            app_proto: app,
            app_proto_orig: None,
            encryption: app.map(|_| ("none", false)),
        }
    }

    fn record(c: &mut Classifier, f: &FlowFacts) -> serde_json::Value {
        let mut buf = Vec::new();
        let mut o = Obj::new(&mut buf);
        o.str("event_type", "flow");
        c.finish_record(f, &mut buf);
        serde_json::from_slice(&buf).expect("valid JSON")
    }

    fn announce(c: &mut Classifier, port: u16, proto: u8, what: Announced) {
        c.announce(Announcement {
            ts_ns: 5 * NS,
            addr: Addr::v4([10, 0, 0, 5]),
            port,
            proto,
            what,
            by_idx: 1,
            by: FlowTuple::default(),
        });
    }

    #[test]
    fn unclaimed_flows_take_the_protocol_of_what_announced_them() {
        let mut c = Classifier::default();
        let media = Announced::Media {
            call_id: "abc@host".into(),
            media: "audio".into(),
            srtp: true,
        };
        announce(&mut c, 30000, IPPROTO_UDP, media);
        let rpc = Announced::RpcEndpoint {
            interface: "a4f1db00-ca47-1067-b31f-00dd010662da".into(),
            version: 0,
            name: Some("EMSMDB"),
        };
        announce(&mut c, 6001, IPPROTO_TCP, rpc);

        let v = record(&mut c, &facts(IPPROTO_UDP, 30000, None));
        assert_eq!(v["app_proto"], "rtp");
        assert_eq!(
            (v["encrypted"].clone(), v["encryption"].clone()),
            (true.into(), "srtp".into())
        );
        assert_eq!(v["expected"]["by"], "sdp");
        assert_eq!(v["expected"]["call_id"], "abc@host");
        assert_eq!(v["data_path"], serde_json::Value::Null);

        let v = record(&mut c, &facts(IPPROTO_TCP, 6001, None));
        assert_eq!(v["app_proto"], "dcerpc");
        assert!(v["encryption"].is_null(), "the bind was not seen");
        assert_eq!(v["expected"]["interface_name"], "EMSMDB");

        // a parser's verdict stands; the expectation is still reported
        let v = record(&mut c, &facts(IPPROTO_TCP, 6001, Some("tls")));
        assert_eq!(v["app_proto"], "tls");
        assert_eq!(v["expected"]["by"], "epm");

        let v = record(&mut c, &facts(IPPROTO_TCP, 443, None));
        assert!(v["app_proto"].is_null() && v["expected"].is_null());
        assert_eq!(c.counts().flows_matched, 3);
        assert_eq!(c.counts().announced, 2);
    }
}
