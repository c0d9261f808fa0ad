//! Matching a flow to a catalog entry ([`Catalog::label`]): which documented data path a flow
//! is, how sure that is, and when it is none, why.
//!
//! This module owns the matching rules; the facts come from the caller in a [`PathQuery`]
//! (transport, server port, the parsers' protocol, both ends' [`HostRoles`], the expectation
//! that announced the port). Nothing here allocates: a label is a few passes over the entries
//! the port index ([`Catalog::port_candidates`]) and the lists of `dynamic-rpc`, SDP and
//! `any`-port entries give.
//!
//! # Candidates
//! - entries whose transport and listed ports hold the server port;
//! - with an endpoint-mapper expectation, the `dynamic-rpc` entries of the transport; with an
//!   SDP expectation, the `announced_by = "sdp"` entries whose listed range holds the port;
//! - entries listing the port `any` (Exchange 2016's internal traffic, the UM SES worker) fill
//!   in only where the port's own entries have no path (none on the port, or none for these
//!   roles), and only when both roles fit exactly: a port any path may use says nothing by
//!   itself, and where the port has its own entries they say which protocol it carries (plain
//!   SIP on 5061 is not documented, whatever the SES worker's rule opens).
//!
//! # Roles
//! Each end fits each side of an entry as *yes*, *likely*, *unknown* or *no*:
//! - an outside host (`internet`) fits sides naming `internet` or `client` (mail clients,
//!   phones and browsers outside reach OWA, ActiveSync, IMAP), and nothing else: `any` in the
//!   catalog (firewall rules, the 2000/2003 port list) means any host of the site, so that
//!   `internet → mailbox` on 135 is not documented;
//! - an internal host never fits a side that names only `internet`;
//! - inventory roles fit when the side names one of them or `any`, else *no*;
//! - inferred roles fit the same way, but a side they miss is *unknown*, not *no*: an
//!   inference is what the host was seen doing, not all it is;
//! - an internal host of unknown role is *likely* on a side naming `client` (hosts nobody
//!   listed or saw serving are mostly clients) or `any`, else *unknown*; never *yes*, so a
//!   flow with an unknown end is never an exact match.
//!
//! An entry with `bidirectional = true` is tried both ways; the better way counts (and
//! [`Matched::reversed`] says when it was the server's side that opened).
//!
//! # Protocol
//! What the parsers found (`app_proto`) fits an entry's `protocol` as *yes*, *unknown* or *no*:
//! - `unspecified` in the catalog fits every flow;
//! - `tls` from the first byte fits the implicit-TLS words (`https`, `smtps`, `ldaps`,
//!   `imaps`, `pop3s`, `sips`, `nntps`, `ircs`) and entries whose encryption `with` holds
//!   `tls`, or `mutual-tls` without an in-band upgrade (`starttls`, `x-anonymoustls`) beside
//!   it: SMTP's mutual TLS between Hub and Edge is negotiated by STARTTLS on port 25, and TLS
//!   from the first byte there is not documented;
//! - `tls` after an upgrade (`app_proto_orig` `smtp`, `ldap`, `imap`, `pop3`) fits that
//!   protocol; `tls` not seen from its first byte (picked up mid-stream, `tls_from_start`
//!   false) with no `app_proto_orig` is *unknown* on the upgradable protocols: the upgrade may
//!   have been missed;
//! - `smtp`, `ldap`, `http`, `imap`, `pop3`, `dcerpc`, `sip`, `rtp` fit the same word; `http`
//!   also fits `rvp` (Exchange 2000's instant messaging runs over HTTP);
//! - a flow no parser claimed (`app_proto` none) fits protocols exwatch has no parser for
//!   (`kerberos`, `dns`, `smb`, `x400`, …: the port is all there is to go on) and is *unknown*
//!   on those it parses (an empty or cut flow): so it is never an exact match on those.
//!
//! # The answer
//! 1. No candidate: [`NoMatch::NoPathOnPort`].
//! 2. Candidates whose roles fit (yes, likely or unknown) but none whose protocol fits:
//!    [`NoMatch::ProtocolNotDocumented`] with the protocols those paths expect.
//! 3. No candidate whose roles fit: [`NoMatch::RolesNotDocumented`] when both ends' roles are
//!    known (inventory, inferred or `internet`); when an end is unknown the best candidate whose
//!    protocol fits is still a match, `port` (or `expectation`) with [`RolesFit::Against`] —
//!    the known end fits none of them, which only another role of it could change.
//! 4. Otherwise the best candidate is the match: [`MatchKind::Exact`] when both ends fit with
//!    *yes* and the protocol with *yes*; else [`MatchKind::Expectation`] when the entry came
//!    from an expectation, else [`MatchKind::Port`].
//! 5. Where 1 or 3 found no path, an `any`-port entry that both ends fit exactly is the match
//!    (`exact`): Exchange 2016 documents mailbox ↔ dc on any port.
//!
//! (The steps above consider the port's and the expectation's candidates; `any`-port entries
//! come in at step 5 only.)
//!
//! Ranking (deterministic): role fit (the sum over both ends: yes 0, likely 1, unknown 2), then
//! protocol fit, then the endpoint-mapper interface (with an [`ExpectKind::Epm`] naming one: an
//! entry whose `interfaces` holds it, then entries naming none, then entries naming others —
//! EMSMDB on a 2010 CAS is RPC Client Access, not the address book that shares its roles),
//! then port or expectation before `any`-port entries, then the more specific entry (fewer
//! sides saying `any`, then fewer roles listed: `hub → dc` before the 2000/2003
//! `any → dc,exchange` on 389), then catalog order. The interface ranks; it never rules an
//! entry out.

use std::fmt;

use super::catalog::{Catalog, Crypto, Entry, PortSpec, Protocol, ProtocolSet, Role, RoleSet, Transport};
use super::roles::{HostRoles, RoleSource};
use crate::flow::{IPPROTO_TCP, IPPROTO_UDP};

/// What announced the flow's server port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectKind<'a> {
    /// A DCE/RPC endpoint-mapper answer (the interface's name when known).
    Epm { interface: Option<&'a str> },
    /// An SDP body (media).
    Sdp,
}

/// What the matcher needs of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathQuery<'a> {
    /// `IPPROTO_TCP` or `IPPROTO_UDP` (anything else has no candidates).
    pub transport: u8,
    pub server_port: u16,
    /// The parser that owns the flow (`smtp`, `tls`, `ldap`, `http`, `imap`, `pop3`, `dcerpc`,
    /// `sip`, `rtp`), `None` when none claimed it.
    pub app_proto: Option<&'a str>,
    /// The clear-text protocol before a STARTTLS-style upgrade.
    pub app_proto_orig: Option<&'a str>,
    /// `app_proto` is `tls` and the stream was seen from its first byte (no upgrade missed).
    pub tls_from_start: bool,
    pub client: HostRoles,
    pub server: HostRoles,
    pub expectation: Option<ExpectKind<'a>>,
}

/// How a match was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// Both ends' roles fit the entry's sides, and the protocol fits.
    Exact,
    /// Transport, port and protocol fit; the roles are unknown or partly known.
    Port,
    /// The port was announced (endpoint mapper or SDP) and the entry documents such ports.
    Expectation,
}

impl MatchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Exact => "exact",
            MatchKind::Port => "port",
            MatchKind::Expectation => "expectation",
        }
    }
}

/// How the ends' roles fit the matched entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolesFit {
    /// Both ends fit (known roles).
    Both,
    /// Not ruled out: an end's role is unknown, or inferred roles miss the side.
    Partial,
    /// A known end fits none of the candidates; the other end is unknown (see the module doc).
    Against,
}

impl RolesFit {
    pub fn as_str(self) -> &'static str {
        match self {
            RolesFit::Both => "both",
            RolesFit::Partial => "partial",
            RolesFit::Against => "against",
        }
    }
}

/// Why a flow matched no entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoMatch {
    /// No entry has this transport and port (nor was the port announced for one).
    NoPathOnPort,
    /// Entries on the port fit the roles but expect other protocols (`documented`).
    ProtocolNotDocumented { documented: ProtocolSet },
    /// Port entries exist, but none joins these two (known) roles.
    RolesNotDocumented,
}

impl NoMatch {
    /// A stable word for output.
    pub fn as_str(&self) -> &'static str {
        match self {
            NoMatch::NoPathOnPort => "no_path_on_port",
            NoMatch::ProtocolNotDocumented { .. } => "protocol_not_documented",
            NoMatch::RolesNotDocumented => "roles_not_documented",
        }
    }
}

impl fmt::Display for NoMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoMatch::NoPathOnPort => f.write_str("no documented data path uses this port"),
            NoMatch::ProtocolNotDocumented { documented } => {
                write!(f, "the documented data paths on this port carry {documented}")
            }
            NoMatch::RolesNotDocumented => f.write_str("no documented data path on this port joins these roles"),
        }
    }
}

/// The entry a flow matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matched<'c> {
    pub entry: &'c Entry,
    pub kind: MatchKind,
    pub roles: RolesFit,
    /// A bidirectional entry fitted with the flow's server on the entry's `src_role` side.
    pub reversed: bool,
}

/// The answer of [`Catalog::label`].
#[derive(Debug, Clone, Copy)]
pub struct PathMatch<'c, 'a> {
    pub result: Result<Matched<'c>, NoMatch>,
    catalog: &'c Catalog,
    query: PathQuery<'a>,
    best: Option<u16>,
    others: Class,
}

impl<'c> PathMatch<'c, '_> {
    pub fn entry(&self) -> Option<&'c Entry> {
        self.result.ok().map(|m| m.entry)
    }

    pub fn kind(&self) -> Option<MatchKind> {
        self.result.ok().map(|m| m.kind)
    }

    pub fn reason(&self) -> Option<NoMatch> {
        self.result.err()
    }

    /// The other candidates as good as the match (another exact fit, or every candidate a
    /// port match leaves open); for no match, the candidates the reason is about. Port
    /// candidates first, then announced ones, then `any`-port ones, each in catalog order.
    pub fn others(&self) -> impl Iterator<Item = &'c Entry> + '_ {
        let (cat, q, best, class) = (self.catalog, self.query, self.best, self.others);
        candidates(cat, q)
            .filter(move |&(i, _)| Some(i) != best)
            .filter_map(move |(i, via)| {
                let s = score(cat, &q, i, via)?;
                s.is(class).then_some(&cat.entries[i as usize])
            })
    }
}

/// How a candidate came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Port,
    Expectation,
    AnyPort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fit {
    Yes = 0,
    Unknown = 1,
    No = 2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Yes = 0,
    Likely = 1,
    Unknown = 2,
}

/// Which candidates [`PathMatch::others`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    None,
    Exact,
    /// An exact fit among the `any`-port entries.
    ExactAnyPort,
    /// Roles not ruled out, protocol fits.
    Viable,
    /// Roles not ruled out.
    RolesOk,
    /// Protocol fits.
    ProtoOk,
    All,
}

#[derive(Debug, Clone, Copy)]
struct Scored {
    idx: u16,
    via: Via,
    /// Sum of both ends' [`Side`]s, and whether the entry fitted reversed; `None`: no fit.
    roles: Option<(u8, bool)>,
    proto: Fit,
    /// The endpoint-mapper answer's interface: 0 the entry names it, 1 the entry names none
    /// (or no interface is known), 2 the entry names others.
    iface: u8,
    /// Sides saying `any`, roles listed.
    specific: (u8, u8),
}

impl Scored {
    fn exact(&self) -> bool {
        matches!(self.roles, Some((0, _))) && self.proto == Fit::Yes
    }

    fn is(&self, c: Class) -> bool {
        match c {
            Class::None => false,
            Class::Exact => self.exact() && self.via != Via::AnyPort,
            Class::ExactAnyPort => self.exact() && self.via == Via::AnyPort,
            Class::Viable => self.roles.is_some() && self.proto != Fit::No && self.via != Via::AnyPort,
            Class::RolesOk => self.roles.is_some() && self.via != Via::AnyPort,
            Class::ProtoOk => self.proto != Fit::No && self.via != Via::AnyPort,
            Class::All => self.via != Via::AnyPort,
        }
    }

    fn key(&self) -> (u8, Fit, u8, bool, (u8, u8), u16) {
        (
            self.roles.map_or(u8::MAX, |r| r.0),
            self.proto,
            self.iface,
            self.via == Via::AnyPort,
            self.specific,
            self.idx,
        )
    }
}

fn transport(t: u8) -> Option<Transport> {
    match t {
        IPPROTO_TCP => Some(Transport::Tcp),
        IPPROTO_UDP => Some(Transport::Udp),
        _ => None,
    }
}

/// Whether `port` is among `e`'s listed numbers and ranges (ignoring `announced_by`).
fn listed(e: &Entry, port: u16) -> bool {
    e.ports.iter().any(|p| match *p {
        PortSpec::One(x) => x == port,
        PortSpec::Range(a, b) => (a..=b).contains(&port),
        PortSpec::DynamicRpc | PortSpec::Any => false,
    })
}

/// Whether the query's expectation makes `e` a candidate.
fn announced(e: &Entry, q: &PathQuery<'_>) -> bool {
    let fits = transport(q.transport).is_some_and(|t| e.transport.contains(&t));
    fits && match q.expectation {
        Some(ExpectKind::Epm { .. }) => e.ports.contains(&PortSpec::DynamicRpc) && !e.port_matches(q.server_port),
        Some(ExpectKind::Sdp) => e.announced_by.is_some() && listed(e, q.server_port),
        None => false,
    }
}

/// Every candidate once: by port, then by expectation, then `any`-port entries.
fn candidates(cat: &Catalog, q: PathQuery<'_>) -> impl Iterator<Item = (u16, Via)> {
    let (dynamic, sdp, any) = cat.special_ids();
    let e = move |i: u16| &cat.entries[i as usize];
    let by_port = cat.port_ids(q.transport, q.server_port).iter().map(|&i| (i, Via::Port));
    let announced_ids = dynamic.iter().chain(sdp).copied();
    let by_expectation = announced_ids
        .filter(move |&i| announced(e(i), &q))
        .map(|i| (i, Via::Expectation));
    let by_any = any
        .iter()
        .copied()
        .filter(move |&i| {
            let x = e(i);
            transport(q.transport).is_some_and(|t| x.transport.contains(&t))
                && !x.port_matches(q.server_port)
                && !announced(x, &q)
        })
        .map(|i| (i, Via::AnyPort));
    by_port.chain(by_expectation).chain(by_any)
}

/// How one end fits one side of an entry (`None`: it does not).
fn side(entry: RoleSet, h: &HostRoles) -> Option<Side> {
    if let RoleSource::Outside = h.source {
        return (entry.contains(Role::Internet) || entry.contains(Role::Client)).then_some(Side::Yes);
    }
    if entry.without(Role::Internet).is_empty() {
        return None;
    }
    let fits = entry.contains(Role::Any) || entry.intersects(h.roles);
    match h.source {
        RoleSource::Inventory => fits.then_some(Side::Yes),
        RoleSource::Inferred(_) if fits => Some(Side::Yes),
        RoleSource::Inferred(_) => Some(Side::Unknown),
        _ if entry.contains(Role::Client) || entry.contains(Role::Any) => Some(Side::Likely),
        _ => Some(Side::Unknown),
    }
}

fn roles_fit(e: &Entry, q: &PathQuery<'_>) -> Option<(u8, bool)> {
    let (src, dst) = (RoleSet::of(&e.src_role), RoleSet::of(&e.dst_role));
    let way = |a: RoleSet, b: RoleSet| Some(side(a, &q.client)? as u8 + side(b, &q.server)? as u8);
    let fwd = way(src, dst).map(|r| (r, false));
    let rev = if e.bidirectional {
        way(dst, src).map(|r| (r, true))
    } else {
        None
    };
    match (fwd, rev) {
        (Some(f), Some(r)) if r.0 < f.0 => Some(r),
        (f, r) => f.or(r),
    }
}

/// Protocols with an exwatch parser (directly, inside TLS, or `rtp` through SDP).
fn parsed(p: Protocol) -> bool {
    use Protocol::*;
    matches!(
        p,
        Smtp | Smtps
            | Ldap
            | Ldaps
            | Dcerpc
            | Http
            | Https
            | Imap
            | Imaps
            | Pop3
            | Pop3s
            | Sip
            | Sips
            | Rtp
            | Nntps
            | Ircs
            | Rvp
    )
}

/// TLS from the first byte is what the entry documents.
fn implicit_tls(e: &Entry) -> bool {
    use Protocol::*;
    let w = &e.encryption.with;
    let in_band = w.contains(&Crypto::Starttls) || w.contains(&Crypto::XAnonymousTls);
    matches!(e.protocol, Https | Smtps | Ldaps | Imaps | Pop3s | Sips | Nntps | Ircs)
        || w.contains(&Crypto::Tls)
        || (w.contains(&Crypto::MutualTls) && !in_band)
}

fn proto_fit(e: &Entry, q: &PathQuery<'_>) -> Fit {
    use Protocol::*;
    if e.protocol == Unspecified {
        return Fit::Yes;
    }
    let same = |p: &str| match Protocol::from_word(p) {
        Some(w) if w == e.protocol => Fit::Yes,
        Some(Http) if e.protocol == Rvp => Fit::Yes,
        _ => Fit::No,
    };
    match (q.app_proto, q.app_proto_orig) {
        (None, _) if parsed(e.protocol) => Fit::Unknown,
        (None, _) => Fit::Yes,
        (Some("tls"), Some(orig)) => same(orig),
        (Some("tls"), None) if implicit_tls(e) => Fit::Yes,
        (Some("tls"), None) if !q.tls_from_start && matches!(e.protocol, Smtp | Ldap | Imap | Pop3) => Fit::Unknown,
        (Some("tls"), None) => Fit::No,
        (Some(p), _) => same(p),
    }
}

fn score(cat: &Catalog, q: &PathQuery<'_>, idx: u16, via: Via) -> Option<Scored> {
    let e = &cat.entries[idx as usize];
    let (src, dst) = (RoleSet::of(&e.src_role), RoleSet::of(&e.dst_role));
    let s =
        Scored {
            idx,
            via,
            roles: roles_fit(e, q),
            proto: proto_fit(e, q),
            iface: match q.expectation {
                Some(ExpectKind::Epm { interface: Some(i) }) if !e.interfaces.is_empty() => {
                    if e.interfaces.contains(&i) { 0 } else { 2 }
                }
                _ => 1,
            },
            specific: (
                src.contains(Role::Any) as u8 + dst.contains(Role::Any) as u8,
                (src.len() + dst.len()) as u8,
            ),
        };
    // a port any path may use is a candidate only for the roles it documents
    (via != Via::AnyPort || s.exact()).then_some(s)
}

fn better(a: Option<Scored>, b: Scored) -> Option<Scored> {
    match a {
        Some(a) if a.key() <= b.key() => Some(a),
        _ => Some(b),
    }
}

impl Catalog {
    /// The documented data path a flow is (see the module doc for the rules).
    pub fn label<'c, 'a>(&'c self, q: &PathQuery<'a>) -> PathMatch<'c, 'a> {
        let mut any = false;
        let (mut roles_ok, mut best, mut fallback) = (false, None, None);
        let (mut roles_ok_protos, mut all_protos) = (ProtocolSet::EMPTY, ProtocolSet::EMPTY);
        for (i, via) in candidates(self, *q).filter(|c| c.1 != Via::AnyPort) {
            let Some(s) = score(self, q, i, via) else { continue };
            let p = self.entries[i as usize].protocol;
            any = true;
            all_protos.insert(p);
            if s.roles.is_some() {
                roles_ok = true;
                roles_ok_protos.insert(p);
                if s.proto != Fit::No {
                    best = better(best, s);
                }
            } else if s.proto != Fit::No {
                fallback = better(fallback, s);
            }
        }
        let both_known = q.client.is_known() && q.server.is_known();
        let (result, best, others) = match (any, roles_ok, best, fallback) {
            (false, ..) => (Err(NoMatch::NoPathOnPort), None, Class::None),
            (true, true, Some(s), _) => {
                let class = if s.exact() { Class::Exact } else { Class::Viable };
                (Ok(self.matched(&s)), Some(s.idx), class)
            }
            (true, true, None, _) => (
                Err(NoMatch::ProtocolNotDocumented {
                    documented: roles_ok_protos,
                }),
                None,
                Class::RolesOk,
            ),
            (true, false, ..) if both_known => (Err(NoMatch::RolesNotDocumented), None, Class::All),
            (true, false, _, Some(s)) => (Ok(self.matched(&s)), Some(s.idx), Class::ProtoOk),
            (true, false, _, None) => (
                Err(NoMatch::ProtocolNotDocumented { documented: all_protos }),
                None,
                Class::All,
            ),
        };
        if let Err(NoMatch::NoPathOnPort | NoMatch::RolesNotDocumented) = result {
            let any_port = candidates(self, *q)
                .filter(|c| c.1 == Via::AnyPort)
                .filter_map(|(i, via)| score(self, q, i, via))
                .fold(None, better);
            if let Some(s) = any_port {
                return PathMatch {
                    result: Ok(self.matched(&s)),
                    catalog: self,
                    query: *q,
                    best: Some(s.idx),
                    others: Class::ExactAnyPort,
                };
            }
        }
        PathMatch {
            result,
            catalog: self,
            query: *q,
            best,
            others,
        }
    }

    fn matched(&self, s: &Scored) -> Matched<'_> {
        let (roles, reversed) = match s.roles {
            Some((0, rev)) => (RolesFit::Both, rev),
            Some((_, rev)) => (RolesFit::Partial, rev),
            None => (RolesFit::Against, false),
        };
        let kind = match (s.exact(), s.via) {
            (true, _) => MatchKind::Exact,
            (false, Via::Expectation) => MatchKind::Expectation,
            (false, _) => MatchKind::Port,
        };
        Matched {
            entry: &self.entries[s.idx as usize],
            kind,
            roles,
            reversed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::roles::{Evidence, Inferred};

    /// `internet`, `?` (internal, unknown), `~hub` (inferred), else inventory roles (`mailbox,cas`).
    fn host(s: &str) -> HostRoles {
        match s {
            "internet" => HostRoles::internet(),
            "?" => HostRoles::UNKNOWN,
            _ if s.starts_with('~') => {
                let roles: RoleSet = s[1..].split(',').filter_map(Role::from_word).collect();
                let first = roles.iter().next().expect("a role");
                HostRoles {
                    roles,
                    source: RoleSource::Inferred(Inferred {
                        role: first,
                        evidence: Evidence::SmtpBanner { port: 25 },
                        ts_ns: 1,
                    }),
                    internal: true,
                }
            }
            _ => HostRoles::inventory(s.split(',').map(|w| Role::from_word(w).expect(w)).collect()),
        }
    }

    fn query<'a>(t: u8, port: u16, app: Option<&'a str>, client: &str, server: &str) -> PathQuery<'a> {
        PathQuery {
            transport: t,
            server_port: port,
            app_proto: app,
            app_proto_orig: None,
            tls_from_start: app == Some("tls"),
            client: host(client),
            server: host(server),
            expectation: None,
        }
    }

    const TCP: u8 = IPPROTO_TCP;
    const UDP: u8 = IPPROTO_UDP;

    /// `id kind` or `reason`.
    fn label(q: &PathQuery<'_>) -> String {
        let c = Catalog::embedded();
        let m = c.label(q);
        match m.result {
            Ok(x) => format!("{} {}", x.entry.id, x.kind.as_str()),
            Err(r) => r.as_str().to_string(),
        }
    }

    fn others(q: &PathQuery<'_>) -> Vec<String> {
        let c = Catalog::embedded();
        let m = c.label(q);
        m.others().map(|e| e.id.clone()).collect()
    }

    #[test]
    fn smtp_between_transport_servers() {
        let smtp = |c, s| label(&query(TCP, 25, Some("smtp"), c, s));
        assert_eq!(smtp("hub", "edge"), "ex2010.transport.hub-edge-smtp exact");
        assert_eq!(smtp("edge", "hub"), "ex2010.transport.edge-hub-smtp exact");
        assert_eq!(smtp("edge", "internet"), "ex2016.edge-internet-outbound exact");
        assert_eq!(smtp("internet", "edge"), "ex2016.internet-edge-inbound exact");
        assert_eq!(smtp("mailbox", "edge"), "ex2016.mailbox-edge-outbound exact");
        assert_eq!(smtp("edge", "mailbox"), "ex2016.edge-mailbox-inbound exact");
        assert_eq!(smtp("mailbox", "internet"), "ex2016.mailbox-internet-outbound exact");
        assert_eq!(smtp("internet", "mailbox"), "ex2013.fet.internet-cas-smtp exact");
        assert_eq!(smtp("um", "hub"), "ex2010.transport.um-hub-smtp exact");
        assert_eq!(smtp("hub", "hub"), "ex2010.transport.hub-hub-smtp exact");
        assert_eq!(
            others(&query(TCP, 25, Some("smtp"), "hub", "hub")),
            ["ex2010.firewall.transport-worker-smtp"],
            "the other exact fit"
        );

        // STARTTLS (and X-ANONYMOUSTLS) upgraded: still SMTP's paths
        let mut q = query(TCP, 25, Some("tls"), "hub", "edge");
        q.app_proto_orig = Some("smtp");
        q.tls_from_start = false;
        assert_eq!(label(&q), "ex2010.transport.hub-edge-smtp exact");
        // TLS from the first byte on 25: no path documents it (mutual TLS there is STARTTLS)
        let q = query(TCP, 25, Some("tls"), "hub", "edge");
        assert_eq!(label(&q), "protocol_not_documented");
        let documented = Catalog::embedded().label(&q).reason();
        assert_eq!(
            documented,
            Some(NoMatch::ProtocolNotDocumented {
                documented: ProtocolSet::EMPTY.with(Protocol::Smtp)
            })
        );
        // TLS picked up mid-stream: the upgrade may have been missed
        let mut q = query(TCP, 25, Some("tls"), "hub", "edge");
        q.tls_from_start = false;
        assert_eq!(label(&q), "ex2010.transport.hub-edge-smtp port");
        // nothing parsed (an empty flow): port at best
        let q = query(TCP, 25, None, "hub", "edge");
        assert_eq!(label(&q), "ex2010.transport.hub-edge-smtp port");
        assert_eq!(
            Catalog::embedded().label(&q).result.map(|m| m.roles),
            Ok(RolesFit::Both)
        );
    }

    #[test]
    fn the_2013_transport_ports() {
        let smtp = |p, c, s| label(&query(TCP, p, Some("smtp"), c, s));
        assert_eq!(
            smtp(2525, "mailbox", "mailbox"),
            "ex2013.fet.cas-mailbox-inbound-proxy exact"
        );
        assert_eq!(smtp(2525, "edge", "mailbox"), "ex2013.transport.default-2525 exact");
        assert_eq!(
            smtp(717, "mailbox", "mailbox"),
            "ex2013.fet.mailbox-cas-outbound-proxy exact"
        );
        assert_eq!(
            smtp(475, "mailbox", "mailbox"),
            "ex2013.transport.mailbox-delivery exact"
        );
        assert_eq!(smtp(475, "internet", "mailbox"), "roles_not_documented");
        let mut q = query(TCP, 587, Some("tls"), "client", "mailbox");
        q.app_proto_orig = Some("smtp");
        assert_eq!(label(&q), "ex2016.client-mailbox-submission exact");
        q.server = host("hub");
        assert_eq!(label(&q), "ex2010.transport.client-hub-submission exact");
        q.server = host("?");
        q.client = host("?");
        assert_eq!(
            label(&q),
            "ex2010.transport.client-hub-submission port",
            "catalog order"
        );
        q.server = host("internet");
        assert_eq!(
            label(&q),
            "online.client-submission port",
            "an unknown host is likely a client"
        );
    }

    #[test]
    fn clients_to_client_access() {
        let l = |p, app, c, s| label(&query(TCP, p, app, c, s));
        assert_eq!(
            l(443, Some("tls"), "client", "cas"),
            "ex2010.cas.client-cas-https exact"
        );
        assert_eq!(
            l(443, Some("tls"), "internet", "cas"),
            "ex2010.cas.client-cas-https exact"
        );
        assert_eq!(
            l(443, Some("tls"), "client", "mailbox"),
            "ex2016.client-mailbox-https exact"
        );
        assert_eq!(l(443, Some("tls"), "?", "cas"), "ex2010.cas.client-cas-https port");
        let o = others(&query(TCP, 443, Some("tls"), "?", "cas"));
        assert!(o.contains(&"ex2010.mailbox.cas-cas-owa-https".to_string()), "{o:?}");
        assert!(!o.contains(&"ex2010.transport.hub-adrms-https".to_string()), "{o:?}");
        assert_eq!(
            l(443, Some("tls"), "hub", "adrms"),
            "ex2010.transport.hub-adrms-https exact"
        );
        assert_eq!(
            l(80, Some("http"), "client", "mailbox"),
            "ex2016.client-mailbox-http exact"
        );
        // clear text on 443
        assert_eq!(l(443, Some("http"), "client", "cas"), "protocol_not_documented");
        assert_eq!(
            Catalog::embedded()
                .label(&query(TCP, 443, Some("http"), "?", "?"))
                .reason()
                .map(|r| r.to_string()),
            Some("the documented data paths on this port carry https".into())
        );

        assert_eq!(
            l(143, Some("imap"), "client", "cas"),
            "ex2010.cas.client-cas-imap exact"
        );
        assert_eq!(l(143, Some("imap"), "?", "cas"), "ex2010.cas.client-cas-imap port");
        assert_eq!(
            l(110, Some("pop3"), "internet", "cas"),
            "ex2010.cas.client-cas-pop3 exact"
        );
        assert_eq!(
            l(993, Some("tls"), "client", "cas"),
            "ex2010.cas.client-cas-imaps exact"
        );
        assert_eq!(
            l(995, Some("tls"), "client", "mailbox"),
            "ex2016.client-mailbox-pop3s exact"
        );
        assert_eq!(l(993, Some("tls"), "?", "internet"), "online.client-imaps port");
        assert_eq!(l(993, Some("tls"), "client", "internet"), "online.client-imaps exact");
        assert_eq!(l(993, Some("imap"), "client", "cas"), "protocol_not_documented");
        let mut q = query(TCP, 143, Some("tls"), "client", "cas");
        q.app_proto_orig = Some("imap");
        assert_eq!(label(&q), "ex2010.cas.client-cas-imap exact");
        assert_eq!(l(143, Some("imap"), "exchange", "exchange"), "ex2000.imap exact");
    }

    #[test]
    fn directory_and_kerberos() {
        let l = |t, p, app, c, s| label(&query(t, p, app, c, s));
        assert_eq!(
            l(TCP, 389, Some("ldap"), "hub", "dc"),
            "ex2010.transport.hub-dc-ldap exact"
        );
        assert_eq!(
            l(UDP, 389, Some("ldap"), "mailbox", "dc"),
            "ex2010.mailbox.mailbox-dc-ldap exact"
        );
        assert_eq!(l(TCP, 3268, Some("ldap"), "um", "dc"), "ex2010.um.um-dc-ldap-gc exact");
        assert_eq!(l(TCP, 3269, Some("tls"), "hub", "dc"), "ex2000.ldaps-gc exact");
        assert_eq!(l(TCP, 389, Some("ldap"), "?", "dc"), "ex2000.ldap port");
        assert_eq!(
            l(TCP, 88, None, "hub", "dc"),
            "ex2010.transport.hub-dc-kerberos exact",
            "no parser"
        );
        assert_eq!(
            l(UDP, 53, None, "mailbox", "dns"),
            "ex2016.mailbox-dns exact",
            "more specific"
        );
        assert_eq!(l(UDP, 53, None, "mailbox", "dc"), "ex2010.mailbox.mailbox-dc-dns exact");
        assert_eq!(l(TCP, 88, Some("http"), "hub", "dc"), "protocol_not_documented");
        assert_eq!(
            l(TCP, 50636, Some("tls"), "hub", "edge"),
            "ex2010.transport.hub-edge-edgesync exact"
        );
        assert_eq!(
            l(TCP, 50636, Some("tls"), "mailbox", "edge"),
            "ex2016.mailbox-edge-edgesync exact"
        );
        assert_eq!(l(TCP, 50636, Some("ldap"), "hub", "edge"), "protocol_not_documented");
        assert_eq!(
            l(TCP, 50389, Some("ldap"), "admin", "edge"),
            "ex2010.transport.edge-adlds-ldap exact"
        );
    }

    #[test]
    fn unified_messaging() {
        let l = |t, p, app, c, s| label(&query(t, p, app, c, s));
        assert_eq!(l(TCP, 5060, Some("sip"), "ip-gw", "um"), "ex2010.um.ipgw-um-sip exact");
        let q = query(TCP, 5060, Some("sip"), "um", "ip-gw");
        assert_eq!(label(&q), "ex2010.um.ipgw-um-sip exact");
        assert_eq!(Catalog::embedded().label(&q).result.map(|m| m.reversed), Ok(true));
        assert_eq!(l(TCP, 5061, Some("tls"), "ip-gw", "um"), "ex2010.um.ipgw-um-sips exact");
        assert_eq!(l(TCP, 5061, Some("tls"), "um", "ip-gw"), "ex2010.um.ipgw-um-sips exact");
        assert_eq!(l(TCP, 5066, Some("tls"), "ip-gw", "um"), "ex2010.um.ipgw-um-sips exact");
        assert_eq!(l(TCP, 5062, Some("tls"), "cas", "um"), "ex2010.cas.cas-um-sip exact");
        assert_eq!(
            l(TCP, 5061, Some("sip"), "ip-gw", "um"),
            "protocol_not_documented",
            "not the SES worker's any port"
        );
        assert_eq!(
            l(TCP, 5075, Some("tls"), "ocs", "cas"),
            "ex2010.mailbox.ocs-cas-sip exact"
        );

        // RTP: only through SDP
        let mut q = query(UDP, 30000, Some("rtp"), "ip-gw", "um");
        assert_eq!(label(&q), "no_path_on_port");
        q.expectation = Some(ExpectKind::Sdp);
        assert_eq!(label(&q), "ex2010.um.ipgw-um-rtp exact");
        q.client = host("?");
        assert_eq!(label(&q), "ex2010.um.ipgw-um-rtp expectation");
        q.server_port = 1000;
        assert_eq!(label(&q), "no_path_on_port", "outside the documented range");
    }

    #[test]
    fn dynamic_rpc_through_the_endpoint_mapper() {
        let epm = Some(ExpectKind::Epm {
            interface: Some("EMSMDB"),
        });
        let mut q = query(TCP, 59123, Some("dcerpc"), "client", "mailbox");
        assert_eq!(label(&q), "no_path_on_port", "no answer handed the port out");
        q.expectation = epm;
        assert_eq!(label(&q), "ex2010.firewall.information-store exact");
        q.client = host("?");
        assert_eq!(label(&q), "ex2010.firewall.information-store expectation");
        assert!(others(&q).len() > 5, "the other RPC services of a mailbox server");
        // the interface picks among the services of one server
        let mut q2 = query(TCP, 59123, Some("dcerpc"), "client", "cas");
        q2.expectation = epm;
        assert_eq!(label(&q2), "ex2010.firewall.rpc exact", "RPC Client Access");
        q2.expectation = Some(ExpectKind::Epm {
            interface: Some("NSPI"),
        });
        assert_eq!(label(&q2), "ex2010.firewall.ab exact", "the address book");
        q2.expectation = Some(ExpectKind::Epm { interface: None });
        assert_eq!(
            label(&q2),
            "ex2010.firewall.ab exact",
            "no interface: the more specific entry"
        );
        q2.client = host("?");
        q2.expectation = epm;
        assert_eq!(label(&q2), "ex2010.firewall.rpc expectation");
        q.client = host("hub");
        assert_eq!(label(&q), "ex2010.transport.hub-mailbox-mapi exact");
        q.client = host("cas");
        assert_eq!(
            label(&q),
            "ex2010.firewall.information-store exact",
            "EMSMDB: the store"
        );
        q.expectation = Some(ExpectKind::Epm { interface: None });
        assert_eq!(
            label(&q),
            "ex2010.mailbox.cas-mailbox-availability exact",
            "the most specific"
        );
        q.expectation = epm;
        q.client = host("client");
        q.server = host("dc");
        assert_eq!(label(&q), "roles_not_documented");
        q.client = host("hub");
        assert_eq!(label(&q), "ex2010.transport.hub-dc-rpc exact");
        // the fixed ports of the store and the address book
        let l = |p, c, s| label(&query(TCP, p, Some("dcerpc"), c, s));
        assert_eq!(l(6001, "client", "cas"), "ex2010.firewall.rpc exact");
        assert_eq!(l(6004, "client", "cas"), "ex2010.firewall.ab exact");
        assert_eq!(l(6001, "client", "mailbox"), "ex2010.firewall.information-store exact");
        assert_eq!(l(135, "client", "mailbox"), "ex2010.firewall.information-store exact");
        assert_eq!(l(135, "internet", "mailbox"), "roles_not_documented");
        // an unknown end cannot make the roles undocumented
        let q = query(TCP, 135, Some("dcerpc"), "internet", "?");
        let cat = Catalog::embedded();
        let m = cat.label(&q);
        assert_eq!(m.kind(), Some(MatchKind::Port));
        assert_eq!(m.result.map(|m| m.roles), Ok(RolesFit::Against));
    }

    #[test]
    fn internal_traffic_on_any_port_and_no_path() {
        let l = |t, p, app, c, s| label(&query(t, p, app, c, s));
        assert_eq!(l(TCP, 49999, None, "mailbox", "dc"), "ex2016.internal-any exact");
        assert_eq!(l(UDP, 49999, None, "dc", "mailbox"), "ex2016.internal-any exact");
        assert_eq!(l(TCP, 49999, None, "?", "dc"), "no_path_on_port");
        assert_eq!(l(TCP, 49999, None, "hub", "dc"), "no_path_on_port");
        assert_eq!(
            l(TCP, 31337, Some("http"), "client", "um"),
            "ex2010.firewall.sesworker exact"
        );
        assert_eq!(l(TCP, 31337, Some("http"), "internet", "um"), "no_path_on_port");
        assert_eq!(l(TCP, 31337, Some("http"), "?", "?"), "no_path_on_port");
        assert_eq!(l(1, 25, None, "hub", "hub"), "no_path_on_port", "not TCP or UDP");
        // a documented port beats the any-port entry, and decides the protocol
        assert_eq!(
            l(TCP, 389, Some("ldap"), "mailbox", "dc"),
            "ex2010.mailbox.mailbox-dc-ldap exact"
        );
        assert_eq!(l(TCP, 389, Some("http"), "mailbox", "dc"), "protocol_not_documented");
        // where the port's entries do not join the roles, the any-port entry does
        assert_eq!(l(TCP, 443, Some("tls"), "mailbox", "dc"), "ex2016.internal-any exact");
        assert_eq!(l(TCP, 443, Some("tls"), "hub", "dc"), "roles_not_documented");
        let q = query(TCP, 49999, None, "mailbox", "ocs");
        assert_eq!(others(&q), Vec::<String>::new(), "the one any-port fit");
    }

    #[test]
    fn inferred_roles_fit_but_never_rule_out() {
        let l = |p, app, c, s| label(&query(TCP, p, app, c, s));
        assert_eq!(
            l(25, Some("smtp"), "~hub", "~edge"),
            "ex2010.transport.hub-edge-smtp exact"
        );
        // an Edge inferred `hub` from its banner: not undocumented, a port match
        let q = query(TCP, 25, Some("smtp"), "internet", "~hub");
        let cat = Catalog::embedded();
        let m = cat.label(&q);
        assert_eq!(m.kind(), Some(MatchKind::Port));
        assert_eq!(m.result.map(|m| m.roles), Ok(RolesFit::Partial));
        assert_eq!(
            l(25, Some("smtp"), "internet", "hub"),
            "roles_not_documented",
            "the inventory is sure"
        );
        assert_eq!(
            l(135, Some("dcerpc"), "internet", "~mailbox"),
            "roles_not_documented",
            "internet is known"
        );
    }

    #[test]
    fn label_is_deterministic_and_others_exclude_the_match() {
        let c = Catalog::embedded();
        let q = query(TCP, 443, Some("tls"), "?", "?");
        let a = c.label(&q);
        let b = c.label(&q);
        assert_eq!(a.result, b.result);
        let best = a.entry().expect("a port match").id.clone();
        let o: Vec<_> = a.others().map(|e| e.id.clone()).collect();
        assert!(!o.contains(&best));
        assert_eq!(o, b.others().map(|e| e.id.clone()).collect::<Vec<_>>());
        // no match: the others are the candidates the reason is about
        let m = c.label(&query(TCP, 443, Some("http"), "client", "cas"));
        assert!(m.others().any(|e| e.id == "ex2010.cas.client-cas-https"));
        assert_eq!(c.label(&query(TCP, 31337, None, "?", "?")).others().count(), 0);
    }
}
