//! Layer 5 — classify: what a flow is in Exchange terms.
//!
//! Runs once per flow record in the writer stage, where the records and announcements of every
//! worker meet in capture order: a flow sharded to one worker can be labelled by an
//! announcement made on a flow of another worker, and the answer is the same for every
//! `--threads N`. The pipeline hands it, per tick, first every announcement made in the tick,
//! then the tick's finished flows in the order they began.
//!
//! What it does, per flow: the expectation the flow meets ([`expect`]: an endpoint-mapper
//! answer or an SDP body announced its endpoint); the roles of both hosts ([`roles`]: the
//! `--inventory` ([`inventory`]), else what the host was seen doing, recorded once as a `role`
//! record with its evidence); the documented data path ([`label`] over the [`catalog`]); and
//! the findings ([`findings`]). Open flows are judged too, each time their facts gain
//! something notable ([`crate::flow::facts`]), so a finding is written the moment its evidence
//! shows, before the flow ends; each kind once per flow.
//!
//! Fields it adds to a `flow` record:
//!
//! | field | meaning |
//! |---|---|
//! | `app_proto`, `app_proto_orig`, `encrypted`, `encryption` | the parser's verdict (see [`crate::output`]); a flow no parser claimed that meets an expectation is `rtp` (SDP; `encryption` `srtp` or `none`) or `dcerpc` (endpoint mapper) |
//! | `expected` | `null`, or how an earlier flow announced this flow's endpoint: `by` (`epm`, `sdp`), `announced_at` (time), `announcer` (that flow's Community ID), and for `epm` the `interface` (UUID), `interface_version`, `interface_name`; for `sdp` the `call_id`, `media`, `srtp` |
//! | `data_path` | the documented path: `id`, `name`, `exchange_versions`, `src_role`, `dst_role` (the hosts' roles, `null` when unknown), `src_role_from`, `dst_role_from` (`inventory`, `inferred`, `address` for an outside host, `null`), `match` (`exact`: roles, port and protocol fit; `port`: port and protocol; `expectation`: an endpoint-mapper or SDP announcement named the port) and `candidates` (other paths that fit as well); or `null` |
//! | `no_path` | only when `data_path` is `null`: why (no documented path on the port; the paths there carry other protocols; none joins these roles) |
//! | `findings` | `[{kind, severity, message}]`: every finding raised on the flow (each also written as a `finding` record when raised) |
//!
//! Records it writes itself:
//!
//! - `finding`: `timestamp` (when raised), `kind`, `severity`, `message`, `community_id`,
//!   `src_ip`, `src_port`, `dst_ip`, `dst_port`, `transport`, `app_proto`, `data_path` (id or
//!   `null`), `evidence` (an object of strings; `user` is `<redacted>` with `--redact-users`;
//!   never a password or credential blob). Kinds and severities: [`findings`].
//! - `role`: `timestamp`, `ip`, `role`, `source` (`inferred`), `evidence` (for people),
//!   `evidence_kind`, `community_id` (the flow that showed it).

pub mod catalog;
pub mod expect;
pub mod findings;
pub mod inventory;
pub mod label;
pub mod roles;

use std::collections::HashMap;
use std::sync::Arc;

use crate::decode::Addr;
use crate::flow::announce::{Announced, Announcement};
use crate::flow::facts::Sighting;
pub use crate::flow::facts::{FlowEnds, FlowFacts};
use crate::output::community_id_v1;
use crate::output::json::Obj;
use crate::output::{Summary, SummaryFlow};
pub use catalog::Catalog;
use catalog::Entry;
pub use expect::{Expectations, Expected};
use findings::{Context, Finding, Kind, KindSet, NoPath, Severity};
use inventory::Inventory;
use label::{ExpectKind, MatchKind, NoMatch, PathQuery};
use roles::{Evidence, HostRoles, RoleSource, Roles};

/// The classify stage's state across the whole run.
#[derive(Debug)]
pub struct Classifier {
    pub catalog: Arc<Catalog>,
    pub expectations: Expectations,
    pub roles: Roles,
    /// Announcements received.
    pub announced: u64,
    /// Flows that matched an expectation.
    pub expected_flows: u64,
    /// Findings raised, by kind (index = [`Kind`] as usize).
    pub findings_by_kind: [u64; Kind::ALL.len()],
    /// Write `<redacted>` for user names (`--redact-users`).
    pub redact_users: bool,
    /// The human summary of the run: every finished flow's data path, every finding.
    pub summary: Summary,
    /// Findings raised on flows still open, by the flow's first frame index.
    open: HashMap<u64, Raised>,
    scratch: Vec<Finding>,
}

/// The findings one flow has raised so far.
#[derive(Debug, Default)]
struct Raised {
    kinds: KindSet,
    list: Vec<(Kind, Severity, String)>,
}

/// Everything the classify stage decided about a flow at one moment.
struct Judged<'c> {
    proto: Option<&'static str>,
    enc: Option<(&'static str, bool)>,
    expected: Option<Expected>,
    client: HostRoles,
    server: HostRoles,
    path: PathView<'c>,
}

/// The data path a flow was matched to (or why none).
struct PathView<'c> {
    entry: Option<&'c Entry>,
    kind: Option<&'static str>,
    /// The matched entry first, then the others as good; with no match, the entries the
    /// reason is about.
    candidates: Vec<&'c Entry>,
    no_path: Option<NoPath>,
    /// Why there is no path, for people.
    reason: Option<String>,
}

impl Default for Classifier {
    fn default() -> Self {
        Classifier::new(Catalog::embedded(), None)
    }
}

impl Classifier {
    pub fn new(catalog: Arc<Catalog>, inventory: Option<Arc<Inventory>>) -> Self {
        Classifier {
            catalog,
            expectations: Expectations::default(),
            roles: Roles::new(inventory),
            announced: 0,
            expected_flows: 0,
            findings_by_kind: [0; Kind::ALL.len()],
            redact_users: false,
            summary: Summary::off(),
            open: HashMap::new(),
            scratch: Vec::new(),
        }
    }

    /// One announcement (the pipeline sorts a tick's announcements by time, then announcer).
    /// An endpoint-mapper answer for an Exchange interface tells the server's role; a `role`
    /// record goes to `events` the first time.
    pub fn announce(&mut self, a: Announcement, events: &mut Vec<u8>) {
        self.announced += 1;
        if let Announced::RpcEndpoint { name: Some(n), .. } = &a.what
            && let Some(ev) = roles::epm_evidence(n)
        {
            let cid = community_id_v1(
                0,
                a.by.client,
                a.by.client_port,
                a.by.server,
                a.by.server_port,
                a.by.proto,
            );
            self.infer(a.addr, ev, a.ts_ns, &cid, events);
        }
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

    /// The classify stage's part of the stats record.
    pub fn fill_stats(&self, st: &mut crate::output::Stats) {
        st.expectations = self.counts();
        st.findings = Kind::ALL
            .iter()
            .map(|k| (k.as_str(), self.findings_by_kind[*k as usize]))
            .collect();
        st.roles_inferred = self.roles.inferred_hosts() as u64;
    }

    fn infer(&mut self, addr: Addr, ev: Evidence, ts_ns: u64, community_id: &str, events: &mut Vec<u8>) {
        if let Some(inf) = self.roles.infer(addr, ev.role(), ev, ts_ns) {
            let mut o = Obj::new(events);
            o.str("event_type", "role")
                .time("timestamp", ts_ns)
                .display("ip", addr.to_ip())
                .str("role", inf.role.as_str())
                .str("source", "inferred")
                .str("evidence", &ev.describe())
                .str("evidence_kind", ev.kind())
                .str("community_id", community_id);
            o.close();
            events.push(b'\n');
        }
    }

    /// An open flow's facts gained something notable: raise what it deserves now, as
    /// `finding` (and `role`) records in `events`.
    pub fn sighting(&mut self, s: &Sighting, events: &mut Vec<u8>) {
        let catalog = Arc::clone(&self.catalog);
        let j = self.judge(&catalog, &s.flow, s.ts_ns, events);
        self.raise(&catalog, &s.flow, &j, s.ts_ns, events);
    }

    /// Append the classification fields of one flow record to `buf`, whose record body is open
    /// (written by [`crate::output::write_flow`]), and close the record. Findings first raised
    /// now, and roles first inferred now, go to `events` (written before the flow record).
    ///
    /// A flow no parser claimed takes its protocol from an expectation it meets: `rtp` for SDP
    /// media (`encryption` `srtp` when SRTP was negotiated, else `none`), `dcerpc` for an
    /// endpoint-mapper answer (its encryption unknown: the bind was not seen).
    ///
    /// An interim record (`interim`, the flow still open) is classified the same way and lists
    /// the findings raised so far, but the flow counts in the summary and the stats only once,
    /// at its final record.
    pub fn finish_record(&mut self, f: &FlowFacts, buf: &mut Vec<u8>, events: &mut Vec<u8>, interim: bool) {
        let catalog = Arc::clone(&self.catalog);
        let j = self.judge(&catalog, f, f.last_ns, events);
        self.raise(&catalog, f, &j, f.last_ns, events);
        let mut o = Obj::resume(buf);
        o.opt_str("app_proto", j.proto)
            .opt_str("app_proto_orig", f.app_proto_orig);
        match j.enc {
            Some((e, hidden)) => o.bool("encrypted", hidden).str("encryption", e),
            None => o.null("encrypted").null("encryption"),
        };
        match &j.expected {
            Some(e) => {
                if !interim {
                    self.expected_flows += 1;
                }
                o.obj("expected", |x| write_expected(x, e));
            }
            None => {
                o.null("expected");
            }
        }
        write_data_path(&mut o, &j);
        if self.summary.is_on() && !interim {
            let e = &f.ends;
            self.summary.flow(&SummaryFlow {
                data_path: j.path.entry.map(|p| (p.id.as_str(), p.name.as_str())),
                no_path: j.path.reason.as_deref(),
                app_proto: j.proto,
                transport: transport_name(e.proto),
                dst_port: e.server_port,
                src: e.client.to_ip(),
                dst: e.server.to_ip(),
                bytes: f.bytes,
            });
        }
        // an interim record reads the flow's findings; the final one takes them
        let removed;
        let list = if interim {
            self.open.get(&f.ends.first_idx).map_or(&[][..], |r| &r.list[..])
        } else {
            removed = self.open.remove(&f.ends.first_idx).unwrap_or_default();
            &removed.list[..]
        };
        o.obj_array("findings", list.iter(), |x, (k, sev, msg)| {
            x.str("kind", k.as_str())
                .str("severity", sev.as_str())
                .str("message", msg);
        });
        o.close();
    }

    /// Expectation, roles (inferring what the flow shows), data path.
    fn judge<'c>(&mut self, catalog: &'c Catalog, f: &FlowFacts, ts_ns: u64, events: &mut Vec<u8>) -> Judged<'c> {
        let expected = self.expectations.lookup(&f.ends).cloned();
        let (mut proto, mut enc) = (f.app_proto, f.encryption);
        if let (None, Some(e)) = (proto, &expected) {
            match &e.what {
                Announced::Media { srtp, .. } => {
                    proto = Some("rtp");
                    enc = Some(if *srtp { ("srtp", true) } else { ("none", false) });
                }
                Announced::RpcEndpoint { .. } => proto = Some("dcerpc"),
            }
        }
        for ev in evidence(f, proto) {
            let e = &f.ends;
            let cid = community_id_v1(0, e.client, e.client_port, e.server, e.server_port, e.proto);
            self.infer(e.server, ev, ts_ns, &cid, events);
        }
        let client = self.roles.role_of(&f.ends.client);
        let server = self.roles.role_of(&f.ends.server);
        let path = path_of(catalog, f, proto, &client, &server, expected.as_ref());
        Judged {
            proto,
            enc,
            expected,
            client,
            server,
            path,
        }
    }

    /// Evaluate the findings and write those not raised before on this flow.
    fn raise(&mut self, catalog: &Catalog, f: &FlowFacts, j: &Judged<'_>, ts_ns: u64, events: &mut Vec<u8>) {
        let _ = catalog;
        let ctx = Context {
            path: j.path.entry,
            exact: j.path.kind == Some("exact"),
            candidates: &j.path.candidates,
            no_path: j.path.no_path,
            client_roles: j.client.roles,
            server_roles: j.server.roles,
            client_role_known: known_role(&j.client),
            server_role_known: known_role(&j.server),
            announced: j.expected.as_ref().map(|e| &e.what),
        };
        let mut facts_now = std::borrow::Cow::Borrowed(f);
        if facts_now.app_proto.is_none() && j.proto.is_some() {
            let mut g = f.clone();
            g.app_proto = j.proto;
            g.encryption = j.enc;
            facts_now = std::borrow::Cow::Owned(g);
        }
        self.scratch.clear();
        findings::evaluate(&facts_now, &ctx, &mut self.scratch);
        if self.scratch.is_empty() {
            return;
        }
        let raised = self.open.entry(f.ends.first_idx).or_default();
        let e = &f.ends;
        let cid = community_id_v1(0, e.client, e.client_port, e.server, e.server_port, e.proto);
        for x in self.scratch.drain(..) {
            if raised.kinds & x.kind.bit() != 0 {
                continue;
            }
            raised.kinds |= x.kind.bit();
            self.findings_by_kind[x.kind as usize] += 1;
            self.summary
                .finding(x.kind.as_str(), x.severity.as_str(), e.client.to_ip(), e.server.to_ip());
            let mut o = Obj::new(events);
            o.str("event_type", "finding")
                .time("timestamp", ts_ns)
                .str("kind", x.kind.as_str())
                .str("severity", x.severity.as_str())
                .str("message", &x.message)
                .str("community_id", &cid)
                .display("src_ip", e.client.to_ip())
                .u64("src_port", e.client_port as u64)
                .display("dst_ip", e.server.to_ip())
                .u64("dst_port", e.server_port as u64)
                .str("transport", transport_name(e.proto))
                .opt_str("app_proto", j.proto)
                .opt_str("data_path", j.path.entry.map(|p| p.id.as_str()));
            o.obj("evidence", |ev| {
                for (k, v) in &x.evidence {
                    if *k == "user" && self.redact_users {
                        ev.str(k, REDACTED);
                    } else {
                        ev.str(k, v);
                    }
                }
            });
            o.close();
            events.push(b'\n');
            raised.list.push((x.kind, x.severity, x.message));
        }
    }
}

/// What `--redact-users` writes instead of a user name.
pub const REDACTED: &str = "<redacted>";

fn transport_name(p: u8) -> &'static str {
    match p {
        crate::flow::IPPROTO_TCP => "tcp",
        crate::flow::IPPROTO_UDP => "udp",
        _ => "ip",
    }
}

/// A role from the inventory or inferred (not only `internet` by address).
fn known_role(h: &HostRoles) -> bool {
    matches!(h.source, RoleSource::Inventory | RoleSource::Inferred(_))
}

/// The role evidence a flow's server shows.
fn evidence(f: &FlowFacts, proto: Option<&str>) -> Vec<Evidence> {
    let mut out = Vec::new();
    // the server answered: for TLS, with its ServerHello
    let answered = f.server_pkts > 0 && (proto != Some("tls") || f.sec.tls.as_ref().is_some_and(|t| t.chosen));
    if answered && let Some(ev) = roles::served_evidence(f.ends.proto, f.ends.server_port, proto) {
        out.push(ev);
    }
    if f.sec.exchange_banner {
        match f.app_proto_orig.or(proto) {
            Some("smtp") => out.push(Evidence::SmtpBanner {
                port: f.ends.server_port,
            }),
            Some("imap") => out.push(Evidence::MailBanner { pop3: false }),
            Some("pop3") => out.push(Evidence::MailBanner { pop3: true }),
            _ => {}
        }
    }
    if let Some(h) = &f.sec.http
        && let Some(sv) = h.served_service
        && let Some(p) = service_path(sv)
        && let Some(ev) = roles::http_path_evidence(p)
    {
        out.push(ev);
    }
    out
}

/// The canonical path of an Exchange web service (as [`roles::EXCHANGE_PATHS`] names it).
fn service_path(service: &str) -> Option<&'static str> {
    Some(match service {
        "owa" => "/owa",
        "ews" => "/ews",
        "activesync" => "/Microsoft-Server-ActiveSync",
        "mapi_emsmdb" | "mapi_nspi" => "/mapi",
        "ecp" => "/ecp",
        "oab" => "/oab",
        _ => return None,
    })
}

/// Match the flow to a documented path ([`Catalog::label`]).
fn path_of<'c>(
    catalog: &'c Catalog,
    f: &FlowFacts,
    proto: Option<&'static str>,
    client: &HostRoles,
    server: &HostRoles,
    expected: Option<&Expected>,
) -> PathView<'c> {
    let expectation = expected.map(|e| match &e.what {
        Announced::RpcEndpoint { name, .. } => ExpectKind::Epm { interface: *name },
        Announced::Media { .. } => ExpectKind::Sdp,
    });
    let q = PathQuery {
        transport: f.ends.proto,
        server_port: f.ends.server_port,
        app_proto: proto,
        app_proto_orig: f.app_proto_orig,
        tls_from_start: proto == Some("tls") && f.ends.handshake_seen,
        client: *client,
        server: *server,
        expectation,
    };
    let m = catalog.label(&q);
    let entry = m.entry();
    // the match and the others as good; with no match, the entries the reason is about (the
    // port's paths for other protocols or other roles)
    let mut candidates: Vec<&'c Entry> = entry.into_iter().collect();
    candidates.extend(m.others());
    PathView {
        entry,
        kind: m.kind().map(MatchKind::as_str),
        candidates,
        no_path: m.reason().map(|r| match r {
            NoMatch::NoPathOnPort => NoPath::NoPathOnPort,
            NoMatch::ProtocolNotDocumented { .. } => NoPath::ProtocolNotDocumented,
            NoMatch::RolesNotDocumented => NoPath::RolesNotDocumented,
        }),
        reason: m.reason().map(|r| r.to_string()),
    }
}

/// `data_path`: the matched entry, the roles, and how it matched; or `null` and `no_path`.
fn write_data_path(o: &mut Obj<'_>, j: &Judged<'_>) {
    let Some(e) = j.path.entry else {
        o.null("data_path");
        o.str("no_path", j.path.reason.as_deref().unwrap_or("no documented data path"));
        return;
    };
    // the host's role that fits the path's side, else its first
    let role = |h: &HostRoles, side: &[catalog::Role]| {
        h.roles
            .iter()
            .find(|r| side.contains(r))
            .or_else(|| h.roles.iter().next())
            .map(|r| r.as_str())
    };
    let from = |h: &HostRoles| match h.source {
        RoleSource::Inventory => Some("inventory"),
        RoleSource::Inferred(_) => Some("inferred"),
        RoleSource::Outside => Some("address"),
        RoleSource::Unknown => None,
    };
    o.obj("data_path", |x| {
        x.str("id", &e.id)
            .str("name", &e.name)
            .str_array("exchange_versions", e.exchange_versions.iter().map(String::as_str))
            .opt_str("src_role", role(&j.client, &e.src_role))
            .opt_str("dst_role", role(&j.server, &e.dst_role))
            .opt_str("src_role_from", from(&j.client))
            .opt_str("dst_role_from", from(&j.server))
            .str("match", j.path.kind.unwrap_or("port"))
            .str_array("candidates", j.path.candidates[1..].iter().map(|c| c.id.as_str()));
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
                ends_known: true,
            },
            app_proto: app,
            app_proto_orig: None,
            encryption: app.map(|_| ("none", false)),
            bytes: 0,
            server_pkts: 1,
            last_ns: 11 * NS,
            sec: crate::flow::facts::Facts::default(),
        }
    }

    fn record(c: &mut Classifier, f: &FlowFacts) -> serde_json::Value {
        let mut buf = Vec::new();
        let mut o = Obj::new(&mut buf);
        o.str("event_type", "flow");
        let mut events = Vec::new();
        c.finish_record(f, &mut buf, &mut events, false);
        serde_json::from_slice(&buf).expect("valid JSON")
    }

    fn announce(c: &mut Classifier, port: u16, proto: u8, what: Announced) {
        let mut events = Vec::new();
        c.announce(
            Announcement {
                ts_ns: 5 * NS,
                addr: Addr::v4([10, 0, 0, 5]),
                port,
                proto,
                what,
                by_idx: 1,
                by: FlowTuple::default(),
            },
            &mut events,
        );
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
        // SDP-announced media: the UM media path, matched by the expectation; the server was
        // inferred a mailbox from the endpoint-mapper answer above
        assert_eq!(v["data_path"]["id"], "ex2010.um.ipgw-um-rtp");
        assert_eq!(v["data_path"]["match"], "expectation");
        assert_eq!(v["data_path"]["dst_role_from"], "inferred");

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
