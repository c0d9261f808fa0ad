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
//! | `expected` | `null`, or how an earlier flow announced this flow's endpoint: `by` (`epm`, `sdp`), `announced_at` (time), `announcer` (that flow's Community ID), and for `epm` the `interface` (UUID), `interface_version`, `interface_name`; for `sdp` the `call_id`, `media`, `srtp` |
//! | `data_path` | `null` when no catalog entry ([`catalog`]) has the flow's transport and server port; else `candidates` (the ids of those entries, in catalog order) and `match`: `port` (roles are not known yet, so never `exact`) |
//! | `findings` | findings raised on this flow (to come) |

pub mod catalog;
pub mod expect;

use std::sync::Arc;

use crate::flow::announce::{Announced, Announcement};
use crate::output::json::Obj;
pub use catalog::Catalog;
pub use expect::{Expectations, Expected, FlowEnds};

/// The classify stage's state across the whole run.
#[derive(Debug)]
pub struct Classifier {
    pub catalog: Arc<Catalog>,
    pub expectations: Expectations,
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
            expected_flows: 0,
        }
    }

    /// One announcement (the pipeline sorts a tick's announcements by time, then announcer).
    pub fn announce(&mut self, a: Announcement) {
        self.expectations.announce(a);
    }

    /// Append the classification fields of one flow record to `buf`, whose record body is open
    /// (written by [`crate::output::write_flow`]), and close the record.
    pub fn finish_record(&mut self, f: &FlowEnds, buf: &mut Vec<u8>) {
        let mut o = Obj::resume(buf);
        match self.expectations.lookup(f) {
            Some(e) => {
                self.expected_flows += 1;
                o.obj("expected", |x| write_expected(x, e));
            }
            None => {
                o.null("expected");
            }
        }
        write_data_path(&mut o, &self.catalog, f);
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
